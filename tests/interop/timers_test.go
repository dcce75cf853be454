package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// A schedule snapm creates shows on the bus as its two timers within a
// second, as snapm set them up, and after `snapm schedule delete` nothing
// of it is left there.
func TestSnapmScheduleTimersAppearAndGo(t *testing.T) {
	r := record(t)
	conn := connect(t)
	const name = "appear"
	deleteAtEnd(t, name)

	from := r.mark()
	snapm(t, "schedule", "create", "--policy-type", "count", "--keep-count", "7", "--calendarspec", "Mon..Fri 02:30", name, "/")
	done := time.Now()
	paths := map[string]dbus.ObjectPath{}
	for typ, spec := range map[string]string{"create": "Mon..Fri 02:30", "gc": "*-*-* *:10:00"} {
		e := r.await(t, from, hangGuard, "adding the "+typ+" timer", timerAdded(typ, name))
		if late := e.at.Sub(done); late > follow {
			t.Errorf("the %s timer appeared %v after snapm returned, want within %v", typ, late.Round(time.Millisecond), follow)
		}
		path, props := timerProps(t, conn, typ, name)
		paths[typ] = path
		if props["CalendarSpec"].Value() != spec || props["Status"].Value() != "running" {
			t.Errorf("%s timer: CalendarSpec %v, Status %v; want %q, running (as snapm made it)", typ, props["CalendarSpec"], props["Status"], spec)
		}
	}

	from = r.mark()
	snapm(t, "schedule", "delete", name)
	done = time.Now()
	for typ, path := range paths {
		e := r.await(t, from, hangGuard, "removing the "+typ+" timer", removed(path))
		if late := e.at.Sub(done); late > follow {
			t.Errorf("the %s timer went %v after snapm returned, want within %v", typ, late.Round(time.Millisecond), follow)
		}
	}
	if left := ofSchedule(t, conn, name); len(left) > 0 {
		t.Errorf("after snapm schedule delete, still on the bus: %v", left)
	}
}

// snapm passes its timers through states no frontend should see (a
// drop-in before its enable, a disable before the drop-in goes): over 20
// rounds of every snapm command that changes a schedule, nobody sees a
// timer invalid, and in the end nothing of the schedule is on the bus.
func TestNoFlashOverSnapmCycles(t *testing.T) {
	r := record(t)
	conn := connect(t)
	const name = "flash"
	deleteAtEnd(t, name)
	from := r.mark()
	const cycles = 20
	// Each command and when it ended, to say which one an invalid
	// followed.
	type ran struct {
		args string
		end  time.Time
	}
	var log []ran
	run := func(args ...string) {
		snapm(t, append([]string{"schedule"}, args...)...)
		log = append(log, ran{strings.Join(args, " "), time.Now()})
	}
	start := time.Now()
	for i := range cycles {
		run("create", "--policy-type", "count", "--keep-count", "3", "--calendarspec", "hourly", name, "/")
		run("disable", name)
		run("enable", "--start", name)
		run("edit", "--calendarspec", []string{"daily", "weekly"}[i%2], name)
		run("delete", name)
	}
	t.Logf("%d cycles of 5 snapm commands in %v", cycles, time.Since(start).Round(time.Millisecond))
	// The last delete's removal, and a settle time beyond it, so that a
	// late invalid is seen too.
	time.Sleep(2 * follow)
	var invalid []string
	for _, e := range r.since(from) {
		if publishedStatus(e.sig) != "invalid" {
			continue
		}
		during := "after the last command"
		for _, c := range log {
			if e.at.Before(c.end) {
				during = "by the end of snapm schedule " + c.args
				break
			}
		}
		invalid = append(invalid, describe(e)+" ("+during+")")
	}
	if len(invalid) > 0 {
		t.Errorf("%d signals published Status=invalid, the first:\n%s", len(invalid), strings.Join(invalid[:min(5, len(invalid))], "\n"))
	}
	if left := ofSchedule(t, conn, name); len(left) > 0 {
		t.Errorf("after snapm schedule delete, still on the bus: %v", left)
	}
}

// After the daemon disables a snapm schedule's timers, or removes them,
// snapm says the schedule is disabled, as after its own disable.
func TestDaemonDisableLeavesSnapmDisabled(t *testing.T) {
	conn := connect(t)
	for _, method := range []string{"Disable", "RemoveTimer"} {
		t.Run(method, func(t *testing.T) {
			name := "off-" + strings.ToLower(method)
			deleteAtEnd(t, name)
			snapm(t, "schedule", "create", "--policy-type", "all", "--calendarspec", "hourly", name, "/")
			for _, typ := range []string{"create", "gc"} {
				path, _ := timerProps(t, conn, typ, name)
				if method == "Disable" {
					mustCall(t, conn, path, nstest.TimerIf+".Disable")
				} else {
					mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".RemoveTimer", path)
				}
			}
			if got := snapmEnabled(t, name); got != "no" {
				t.Errorf("after the daemon's %s of both timers, snapm schedule list says Enabled %s, want no", method, got)
			}
		})
	}
}

// publishedStatus is the timer Status a signal publishes, "" if none.
func publishedStatus(sig *dbus.Signal) string {
	var props map[string]dbus.Variant
	switch {
	case sig.Name == nstest.PropsIf+".PropertiesChanged" && len(sig.Body) == 3 && sig.Body[0] == nstest.TimerIf:
		props, _ = sig.Body[1].(map[string]dbus.Variant)
	case sig.Name == omIf+".InterfacesAdded" && len(sig.Body) == 2:
		ifaces, _ := sig.Body[1].(map[string]map[string]dbus.Variant)
		props = ifaces[nstest.TimerIf]
	}
	status, _ := props["Status"].Value().(string)
	return status
}
