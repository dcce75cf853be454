package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// outcome is what a side of a race promised with its success: a test of
// the schedule's state once both are done.
type outcome struct {
	says  string
	holds func(t testing.TB, name string) bool
}

func enabledRunning(enabled, running string) outcome {
	return outcome{"Enabled " + enabled + ", Running " + running, func(t testing.TB, name string) bool {
		if !exists(schedulePath(name)) {
			return false
		}
		show := snapmShow(t, name)
		return show["Enabled"] == enabled && show["Running"] == running
	}}
}

func calendar(spec string) outcome {
	return outcome{"calendar " + spec, func(t testing.TB, name string) bool {
		return exists(schedulePath(name)) && readSchedule(t, name).CalendarSpec == spec
	}}
}

var deleted = outcome{"deleted", func(t testing.TB, name string) bool { return !exists(schedulePath(name)) }}

// Each pair of operations, snapm's and the daemon's, raced on the same
// schedule, ends with the bus and the disk agreeing, and no call reports
// success for a state that did not hold: when the daemon's call succeeds,
// the end state is one a successful side promised (a daemon that reports
// success while snapm undid its work, or a state neither asked for,
// fails); when it fails, it fails with a named error of its own. snapm's
// create checks for an existing schedule before it writes and then
// replaces the file, so snapm and CreateSchedule may both succeed, the
// later one's schedule standing.
func TestRacesWithSnapm(t *testing.T) {
	conn := connect(t)
	type side struct {
		daemon  func(conn *dbus.Conn, name string, schedule, createTimer dbus.ObjectPath) *dbus.Call
		promise outcome
	}
	// The schedule's state before the race.
	const (
		absent = iota
		enabled
		disabled
	)
	cases := []struct {
		name     string
		before   int
		snapm    []string
		snapmDid outcome
		daemon   side
	}{
		{"enable-vs-Disable", disabled, []string{"enable", "--start"}, enabledRunning("yes", "yes"), side{
			func(c *dbus.Conn, _ string, s, _ dbus.ObjectPath) *dbus.Call {
				return nstest.Call(c, s, scheduleIf+".Disable")
			},
			enabledRunning("no", "no")}},
		{"disable-vs-Enable", enabled, []string{"disable"}, enabledRunning("no", "no"), side{
			func(c *dbus.Conn, _ string, s, _ dbus.ObjectPath) *dbus.Call {
				return nstest.Call(c, s, scheduleIf+".Enable", true)
			},
			enabledRunning("yes", "yes")}},
		{"edit-vs-SetCalendarSpec", enabled, []string{"edit", "--calendarspec", "weekly"}, calendar("weekly"), side{
			func(c *dbus.Conn, _ string, _, ct dbus.ObjectPath) *dbus.Call {
				return nstest.Call(c, ct, nstest.TimerIf+".SetCalendarSpec", "monthly")
			},
			calendar("monthly")}},
		{"delete-vs-Enable", disabled, []string{"delete"}, deleted, side{
			func(c *dbus.Conn, _ string, s, _ dbus.ObjectPath) *dbus.Call {
				return nstest.Call(c, s, scheduleIf+".Enable", true)
			},
			enabledRunning("yes", "yes")}},
		{"create-vs-CreateSchedule", absent, []string{"create", "--policy-type", "count", "--keep-count", "2", "--calendarspec", "hourly"},
			calendar("hourly"), side{
				func(c *dbus.Conn, name string, _, _ dbus.ObjectPath) *dbus.Call {
					return nstest.Call(c, nstest.RootPath, nstest.ManagerIf+".CreateSchedule", name, []string{"/"}, "daily",
						variants(map[string]any{"policy_type": "count", "keep_count": uint32(2)}))
				},
				calendar("daily")}},
	}
	// snapm spends a few hundred milliseconds starting Python before it
	// touches anything: the daemon's call goes out across that span, so
	// that the rounds meet snapm before, amid and after its changes.
	delays := []time.Duration{0, 300 * time.Millisecond, 500 * time.Millisecond}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for round, delay := range delays {
				name := fmt.Sprintf("race%d-%d", i, round) // a case's leftovers never meet the next case
				deleteAtEnd(t, name)
				var schedule, createTimer dbus.ObjectPath
				if c.before != absent {
					snapm(t, "schedule", "create", "--policy-type", "count", "--keep-count", "2", "--calendarspec", "hourly", name, "/")
					if c.before == disabled {
						snapm(t, "schedule", "disable", name)
					}
					time.Sleep(follow)
					schedule = getSchedule(t, conn, name)
					createTimer, _ = timerProps(t, conn, "create", name)
				}

				snapmDone := make(chan string, 1)
				go func() {
					args := append(append([]string{"schedule"}, c.snapm...), name)
					if c.before == absent {
						args = append(args, "/")
					}
					res, err := ns.Snapm(testCtx(t), args...)
					switch {
					case err != nil:
						snapmDone <- err.Error()
					case res.Status != 0:
						snapmDone <- fmt.Sprintf("exit status %d: %s", res.Status, lastLine(res.Stderr))
					default:
						snapmDone <- ""
					}
				}()
				time.Sleep(delay)
				daemonErr := c.daemon.daemon(conn, name, schedule, createTimer).Err
				snapmErr := <-snapmDone
				t.Logf("round %d (daemon %v later): snapm %v: %q; daemon: %v", round, delay, c.snapm, snapmErr, daemonErr)
				if daemonErr != nil && !strings.HasPrefix(nstest.ErrName(daemonErr), nstest.ErrPrefix) {
					t.Errorf("round %d: the daemon's call failed with %v, want a named error of the daemon's", round, daemonErr)
				}

				exists := wantAgreement(t, conn, name)
				var promised []string
				held := false
				for _, s := range []struct {
					err string
					o   outcome
				}{{snapmErr, c.snapmDid}, {errString(daemonErr), c.daemon.promise}} {
					if s.err == "" {
						promised = append(promised, s.o.says)
						held = held || s.o.holds(t, name)
					}
				}
				if daemonErr == nil && !held {
					t.Errorf("round %d: the sides that succeeded promised %s; none holds (schedule exists: %v)",
						round, strings.Join(promised, " or "), exists)
				}
				if exists {
					snapm(t, "schedule", "delete", name)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
