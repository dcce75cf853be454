package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// pausedSnapm runs the real snapm with its first timer's enable paused
// after the drop-in's write ("write"), or its first disable paused before
// the drop-in's removal ("remove"): the halfway state of snapm's own
// order, held until the test lets it go on. Only the pause is added to
// snapm's code.
const pausedSnapm = `
import sys
import snapm.manager._timers as timers
from snapm.command import main

where = sys.argv.pop(1)
paused = False

def pause():
    global paused
    if not paused:
        paused = True
        print("snapm-paused", flush=True)
        sys.stdin.readline()

if where == "write":
    write = timers._write_drop_in
    def paused_write(*args):
        write(*args)
        pause()
    timers._write_drop_in = paused_write
else:
    remove = timers._remove_drop_in
    def paused_remove(*args):
        pause()
        remove(*args)
    timers._remove_drop_in = paused_remove
sys.exit(main(sys.argv))
`

// TestSnapmHalfwayAcrossRestart: the daemon restarted while snapm's own
// schedule enable or disable is halfway (the create timer's drop-in, no
// enablement) leaves that state to snapm, which finishes it: the daemon
// finishes only the calls it marked as its own.
func TestSnapmHalfwayAcrossRestart(t *testing.T) {
	conn := connect(t)
	for _, c := range []struct {
		verb, where, enabled string
	}{
		{"enable", "write", "yes"},
		{"disable", "remove", "no"},
	} {
		t.Run(c.verb, func(t *testing.T) {
			name := "halfway-" + c.verb
			unit := "snapm-create@" + name + ".timer"
			deleteAtEnd(t, name)
			snapm(t, "schedule", "create", "--policy-type", "all", "--calendarspec", "hourly", name, "/")
			if c.verb == "enable" {
				snapm(t, "schedule", "disable", name)
			}

			ctx, cancel := context.WithTimeout(testCtx(t), 60*time.Second)
			defer cancel()
			cmd := ns.Command(ctx, filepath.Join(snapmVenv, "bin", "python3"), "-c", pausedSnapm, c.where, "schedule", c.verb, name)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := false
			defer func() {
				if !done {
					stdin.Close()
					cmd.Wait()
				}
			}()
			lines := bufio.NewScanner(stdout)
			for lines.Scan() && lines.Text() != "snapm-paused" {
			}
			if lines.Text() != "snapm-paused" {
				t.Fatalf("snapm schedule %s never reached its pause: %v\n%s", c.verb, lines.Err(), stderr.String())
			}

			halfway := func(when string) {
				t.Helper()
				_, err := os.Stat(ns.UnitDirPath(unit+".d", "10-oncalendar.conf"))
				if state := unitFileState(t, conn, unit); err != nil || state != "disabled" {
					t.Fatalf("%s, %s has its drop-in: %v, unit file state %s; want snapm's halfway state", when, unit, err, state)
				}
			}
			halfway("with snapm paused")
			if _, err := ns.Output(ctx, "systemctl", "restart", "snapm-timersd.service"); err != nil {
				t.Fatal(err)
			}
			// Start-up is over once the name answers; what the daemon
			// would do to the timer it does then, or within the settle
			// time.
			path, _ := timerProps(t, conn, "create", name)
			time.Sleep(settleTime + time.Second)
			halfway("after the daemon's restart")
			if _, props := timerProps(t, conn, "create", name); props["Status"].Value() != "invalid" {
				t.Errorf("the daemon shows snapm's halfway %s as %v, want invalid", unit, props["Status"].Value())
			}

			fmt.Fprintln(stdin, "go on")
			stdin.Close()
			err = cmd.Wait()
			done = true
			if err != nil {
				t.Fatalf("snapm schedule %s, let go on after the daemon's restart: %v\n%s", c.verb, err, stderr.String())
			}
			if got := snapmEnabled(t, name); got != c.enabled {
				t.Errorf("after snapm schedule %s finished, snapm says Enabled %s, want %s", c.verb, got, c.enabled)
			}
			want := map[string]string{"yes": "enabled", "no": "disabled"}[c.enabled]
			for deadline := time.Now().Add(follow + settleTime); ; time.Sleep(50 * time.Millisecond) {
				var status string
				if err := nstest.Call(conn, path, nstest.PropsIf+".Get", nstest.TimerIf, "Status").Store(&status); err != nil {
					t.Fatal(err)
				}
				if status == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after snapm schedule %s finished, the daemon shows %s, want %s", c.verb, status, want)
				}
			}
			if c.verb == "disable" {
				if _, err := os.Stat(ns.UnitDirPath(unit + ".d")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after snapm schedule disable, %s.d is left (%v)", unit, err)
				}
			}
		})
	}
}

// unitFileState is systemd's GetUnitFileState of unit.
func unitFileState(t testing.TB, conn *dbus.Conn, unit string) string {
	t.Helper()
	var state string
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnitFileState", 0, unit).Store(&state); err != nil {
		t.Fatalf("GetUnitFileState %s: %v", unit, err)
	}
	return state
}
