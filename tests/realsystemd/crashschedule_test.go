package realsystemd

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/crashpoint"
)

// gcCalendar is snapm's fixed calendar of every gc timer.
const gcCalendar = "*-*-* *:10:00"

// TestCrashScheduleOps kills each schedule operation at each step it
// passes, restarts the daemon, and checks that what is left is a state
// snapm could show: every drop-in runs its schedule file's calendar, no
// timer is half configured, the daemon shows what disk and systemd say,
// and DeleteSchedule then clears it all.
func TestCrashScheduleOps(t *testing.T) {
	conn := connect(t)
	enableSteps := []string{crashpoint.EnableDropInWritten, crashpoint.EnableUnitEnabled, crashpoint.EnableSynced}
	disableSteps := []string{crashpoint.DisableStopped, crashpoint.DisableUnitDisabled, crashpoint.DisableDropInGone}
	// The operations pass each timer's steps for the create timer and
	// then for the gc timer: each pass is a crash of its own.
	bothTimers := func(steps ...string) []string {
		var out []string
		for _, n := range []int{1, 2} {
			for _, step := range steps {
				out = append(out, crashpoint.Nth(step, n))
			}
		}
		return out
	}
	ops := []struct {
		op     string
		prior  string // a Schedule method called before the crash build runs
		steps  []string
		method string // on the schedule; "" for the Manager's
	}{
		{"create", "", append([]string{crashpoint.ScheduleFileWritten}, bothTimers(append(enableSteps, crashpoint.CreateConfigured)...)...), ""},
		{"edit", "", append(append([]string{crashpoint.ScheduleFileWritten}, bothTimers(disableSteps...)...), bothTimers(enableSteps...)...), "Edit"},
		{"delete", "", bothTimers(append(disableSteps, crashpoint.RemoveRecordGone)...), ""},
		{"enable", "Disable", bothTimers(enableSteps...), "Enable"},
		{"disable", "", bothTimers(disableSteps...), "Disable"},
	}
	for _, o := range ops {
		for _, step := range o.steps {
			t.Run(o.op+"/"+step, func(t *testing.T) {
				name := "cs-" + o.op + "-" + strings.NewReplacer(":", "-", "#", "-").Replace(step)
				path := rootPath + "/schedule/" + dbus.ObjectPath(buslabel.Escape(name))
				opts := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("count"), "keep_count": dbus.MakeVariant(uint32(3))}
				create := func(c *dbus.Conn) *dbus.Call {
					return call(t, c, rootPath, managerIf+".CreateSchedule", name, []string{"/"}, crashSpec, opts)
				}
				t.Cleanup(func() {
					if err := call(t, conn, rootPath, managerIf+".DeleteSchedule", path).Err; err != nil && !strings.Contains(errName(err), "NoSuchSchedule") {
						t.Errorf("DeleteSchedule after the crash: %v", err)
					}
					scheduleGone(t, name)
				})
				if o.op != "create" {
					if err := create(conn).Err; err != nil {
						t.Fatal(err)
					}
				}
				if o.prior != "" {
					mustCall(t, conn, path, scheduleIf+"."+o.prior)
				}
				killAt(t, step)
				switch o.op {
				case "create":
					err := create(conn).Err
					if got := errName(err); got != "org.freedesktop.DBus.Error.NoReply" {
						t.Fatalf("CreateSchedule with the daemon killed at %s: %s %v", step, got, err)
					}
				case "delete":
					callKilled(t, conn, step, rootPath, managerIf+".DeleteSchedule", path)
				case "edit":
					callKilled(t, conn, step, path, scheduleIf+".Edit", map[string]dbus.Variant{"calendarspec": dbus.MakeVariant("Mon..Fri 07:15")})
				case "enable":
					callKilled(t, conn, step, path, scheduleIf+".Enable", true)
				default:
					callKilled(t, conn, step, path, scheduleIf+"."+o.method)
				}
				restartAfterCrash(t)
				scheduleAgrees(t, conn, name)
			})
		}
	}
}

// scheduleAgrees fails t unless the schedule name and its timers are in a
// state snapm could show, and systemd runs what is on disk.
func scheduleAgrees(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	var file struct {
		CalendarSpec string `json:"calendarspec"`
	}
	data, err := os.ReadFile(ns.SnapmDirPath("schedule.d", name+".json"))
	present := err == nil
	if present {
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, typ := range []string{"create", "gc"} {
		unit := "snapm-" + typ + "@" + name + ".timer"
		f := readFacts(t, conn, unit)
		want := map[string]string{"create": file.CalendarSpec, "gc": gcCalendar}[typ]
		switch {
		case f.status() == "invalid":
			t.Errorf("%s is half configured: %+v", unit, f)
		case f.DropIn && !present:
			t.Errorf("%s runs %q with no schedule file", unit, f.Spec)
		case f.DropIn && f.Spec != want:
			t.Errorf("%s runs %q; its schedule file says %q", unit, f.Spec, want)
		}
		converged(t, conn, unit)
		var path dbus.ObjectPath
		if err := call(t, conn, rootPath, managerIf+".GetTimer", typ, name).Store(&path); err == nil {
			if got := status(t, conn, path); got != f.status() {
				t.Errorf("the daemon says %s is %s; disk and systemd say %s (%+v)", unit, got, f.status(), f)
			}
		} else if f.DropIn {
			t.Errorf("%s has a drop-in and no object: %v", unit, err)
		}
	}
	noOrphanedDropIns(t, conn)
}

// scheduleGone fails t if anything of the schedule name is left on disk.
func scheduleGone(t testing.TB, name string) {
	t.Helper()
	for _, p := range []string{ns.SnapmDirPath("schedule.d", name+".json"),
		ns.UnitDirPath("snapm-create@" + name + ".timer.d"), ns.UnitDirPath("snapm-gc@" + name + ".timer.d")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left after DeleteSchedule (%v)", p, err)
		}
	}
}
