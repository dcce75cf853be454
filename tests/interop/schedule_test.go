package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// A schedule snapm creates is on the bus within a second with every field
// as snapm has it, follows snapm's edits, and goes within a second of
// `snapm schedule delete`.
func TestSnapmScheduleOnBus(t *testing.T) {
	r := record(t)
	conn := connect(t)
	const name = "from-snapm"
	deleteAtEnd(t, name)

	from := r.mark()
	snapm(t, "schedule", "create", "--policy-type", "timeline", "--keep-daily", "7", "--keep-hourly", "3",
		"--calendarspec", "Mon..Fri 02:30", "--size-policy", "10%SIZE", "--bootable", "--revert", name, "/:25%FREE", "/var")
	done := time.Now()
	e := r.await(t, from, hangGuard, "adding schedule "+name, scheduleAdded(name))
	if late := e.at.Sub(done); late > follow {
		t.Errorf("the schedule appeared %v after snapm returned, want within %v", late.Round(time.Millisecond), follow)
	}
	path := e.sig.Body[0].(dbus.ObjectPath)
	if got := getSchedule(t, conn, name); got != path {
		t.Errorf("GetSchedule(%s) = %s, InterfacesAdded said %s", name, got, path)
	}
	wantBusAsSnapm(t, conn, name, path)

	snapm(t, "schedule", "edit", "--calendarspec", "weekly", "--policy-type", "count", "--keep-count", "2", name)
	time.Sleep(follow)
	wantBusAsSnapm(t, conn, name, path)
	snapm(t, "schedule", "disable", name)
	time.Sleep(follow)
	wantBusAsSnapm(t, conn, name, path)

	from = r.mark()
	snapm(t, "schedule", "delete", name)
	done = time.Now()
	e = r.await(t, from, hangGuard, "removing schedule "+name, removed(path))
	if late := e.at.Sub(done); late > follow {
		t.Errorf("the schedule went %v after snapm returned, want within %v", late.Round(time.Millisecond), follow)
	}
	wantAgreement(t, conn, name)
}

// A schedule created through the daemon is snapm's: listed and shown with
// the same fields, and snapm's edit, disable, enable and delete work on it.
func TestCreateScheduleIsSnapms(t *testing.T) {
	conn := connect(t)
	const name = "from-daemon"
	createSchedule(t, conn, name, []string{"/", "/var:10%SIZE"}, "Mon..Fri 02:30", map[string]any{
		"policy_type": "timeline", "keep_daily": uint32(7), "keep_hourly": uint32(3),
		"default_size_policy": "5%FREE", "boot": true,
	})
	if got := snapmEnabled(t, name); got != "yes" {
		t.Errorf("snapm schedule list: Enabled %s, want yes (CreateSchedule enables)", got)
	}
	wantSnapmAsBus(t, conn, name)

	snapm(t, "schedule", "edit", "--calendarspec", "weekly", name)
	time.Sleep(follow)
	wantSnapmAsBus(t, conn, name)
	if got := scheduleProps(t, conn, getSchedule(t, conn, name))["CalendarSpec"].Value(); got != "weekly" {
		t.Errorf("after snapm schedule edit, CalendarSpec on the bus is %v, want weekly", got)
	}
	snapm(t, "schedule", "disable", name)
	time.Sleep(follow)
	wantSnapmAsBus(t, conn, name)
	snapm(t, "schedule", "enable", "--start", name)
	time.Sleep(follow)
	wantSnapmAsBus(t, conn, name)
	snapm(t, "schedule", "delete", name)
	wantAgreement(t, conn, name)
}

// A calendar changed through the daemon is the schedule's: snapm's disable
// and enable, which rewrite the drop-in from the file, keep it.
func TestDaemonCalendarSurvivesSnapm(t *testing.T) {
	conn := connect(t)
	for _, how := range []string{"SetCalendarSpec", "Edit"} {
		t.Run(how, func(t *testing.T) {
			name := "cal-" + strings.ToLower(how)
			snapm(t, "schedule", "create", "--policy-type", "count", "--keep-count", "3", "--calendarspec", "hourly", name, "/")
			deleteAtEnd(t, name)
			time.Sleep(follow)
			const spec = "Sat 04:05"
			if how == "SetCalendarSpec" {
				path, _ := timerProps(t, conn, "create", name)
				mustCall(t, conn, path, nstest.TimerIf+".SetCalendarSpec", spec)
			} else {
				mustCall(t, conn, getSchedule(t, conn, name), scheduleIf+".Edit", variants(map[string]any{"calendarspec": spec}))
			}
			snapm(t, "schedule", "disable", name)
			snapm(t, "schedule", "enable", name)
			if got := readSchedule(t, name).CalendarSpec; got != spec {
				t.Errorf("after snapm schedule disable and enable, the file's calendarspec is %q, want %q", got, spec)
			}
			if got := snapmShow(t, name)["Calendarspec"]; got != spec {
				t.Errorf("snapm schedule show: Calendarspec %q, want %q", got, spec)
			}
			if got := dropInSpec(t, "snapm-create@"+name+".timer"); got != spec {
				t.Errorf("the drop-in's OnCalendar= is %q, want %q", got, spec)
			}
			wantAgreement(t, conn, name)
		})
	}
}

// After the daemon's Schedule.Disable snapm says disabled, and after its
// DeleteSchedule snapm knows no such schedule and systemd has nothing of
// it enabled.
func TestDaemonScheduleDisableAndDelete(t *testing.T) {
	conn := connect(t)
	const name = "daemon-off"
	path := createSchedule(t, conn, name, []string{"/"}, "hourly", map[string]any{"policy_type": "all"})
	mustCall(t, conn, path, scheduleIf+".Disable")
	if got := snapmEnabled(t, name); got != "no" {
		t.Errorf("after the daemon's Disable, snapm schedule list says Enabled %s, want no", got)
	}
	mustCall(t, conn, path, scheduleIf+".Enable", true)
	if got := snapmEnabled(t, name); got != "yes" {
		t.Errorf("after the daemon's Enable, snapm schedule list says Enabled %s, want yes", got)
	}
	mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".DeleteSchedule", path)
	if res := trySnapm(t, "schedule", "disable", name); res.Status == 0 || !strings.Contains(res.Stderr, "No schedule named "+name) {
		t.Errorf("after DeleteSchedule, snapm schedule disable %s: exit %d, %q; want it unknown", name, res.Status, res.Stderr)
	}
	wantAgreement(t, conn, name)
}
