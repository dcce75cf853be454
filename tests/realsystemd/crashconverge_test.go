package realsystemd

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
)

// TestCrashSetCalendarConverges kills SetCalendarSpec between the drop-in's
// write and the daemon-reload that makes systemd take it: the restarted
// daemon, started without any daemon-reload of ours, must leave systemd
// running the new calendar, as the call would have.
func TestCrashSetCalendarConverges(t *testing.T) {
	conn := connect(t)
	const name, unit, respec = "crash-setcal", "snapm-create@crash-setcal.timer", "Mon..Fri 07:45"
	path := create(t, conn, "create", name, crashSpec)
	mustCall(t, conn, path, timerIf+".Enable")
	mustCall(t, conn, path, timerIf+".Start")
	step := crashpoint.SetCalendarDropInWritten
	killAt(t, step)
	callKilled(t, conn, step, path, timerIf+".SetCalendarSpec", respec)
	if spec, _, err := dropin.Read(ns.UnitDirPath(), unit); err != nil || spec != respec {
		t.Fatalf("killed at %s, the drop-in says %q (%v), want %q", step, spec, err, respec)
	}
	if got := inNS(t, "systemctl", "show", "-P", "NeedDaemonReload", unit); strings.TrimSpace(got) != "yes" {
		t.Fatalf("killed at %s, systemd's NeedDaemonReload = %q: the crash left nothing to converge", step, got)
	}

	restartAfterCrash(t)
	deadline := time.Now().Add(10 * time.Second)
	for strings.TrimSpace(inNS(t, "systemctl", "show", "-P", "NeedDaemonReload", unit)) != "no" {
		if time.Now().After(deadline) {
			t.Fatalf("after the crash at %s and a restart, systemd still needs a daemon-reload for %s", step, unit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cal := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.Contains(cal, "OnCalendar=Mon..Fri *-*-* 07:45:00 ;") {
		t.Errorf("after the restart systemd runs %q, want the new calendar", cal)
	}
	all := props(t, conn, path)
	if got := all["CalendarSpec"].Value(); got != respec {
		t.Errorf("after the restart the timer's CalendarSpec is %q, want %q", got, respec)
	}
	if got := all["Status"].Value(); got != "running" {
		t.Errorf("after the restart the timer's status is %q, want running", got)
	}
}

// TestCrashRemoveLeavesNoDir kills RemoveTimer of a timer that was never
// enabled once its record is gone: the UNIT.d Create made must not outlive
// it, as nothing would ever remove it.
func TestCrashRemoveLeavesNoDir(t *testing.T) {
	conn := connect(t)
	const name, unit = "crash-remove", "snapm-create@crash-remove.timer"
	path := create(t, conn, "create", name, crashSpec)
	dir := ns.UnitDirPath(unit + ".d")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a new timer's UNIT.d: %v", err)
	}
	step := crashpoint.RemoveRecordGone
	killAt(t, step)
	callKilled(t, conn, step, rootPath, managerIf+".RemoveTimer", path)
	restartAfterCrash(t)
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the crash at %s and a restart, %s is left (%v)", step, dir, err)
	}
	// The record gone, only its schedule file brings it: shown as that
	// file's timer, with nothing else.
	if left := traces(t, conn, "create", name); !slices.Equal(left, []string{"GetTimer answers "}) {
		t.Errorf("after the crash at %s, the timer left %q, want its schedule file's timer only", step, left)
	}
	noOrphanedDropIns(t, conn)
}

// TestCrashCreateWithFlagsUndone kills CreateTimerWithFlags at each step
// after its record: the restarted daemon undoes the half-made timer (the
// caller had no answer), leaving nothing of it, and a retry succeeds
// rather than finding a timer in its way.
func TestCrashCreateWithFlagsUndone(t *testing.T) {
	conn := connect(t)
	steps := []string{crashpoint.EnableDropInWritten, crashpoint.EnableUnitEnabled, crashpoint.EnableSynced, crashpoint.CreateConfigured}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			name := "crash-cwf-" + strings.NewReplacer(":", "-").Replace(step)
			unit := "snapm-create@" + name + ".timer"
			withSchedule(t, "create", name, crashSpec)
			killAt(t, step)
			callKilled(t, conn, step, rootPath, managerIf+".CreateTimerWithFlags", "create", name, crashSpec, flagEnable|flagStart)
			restartAfterCrash(t)
			// Nothing but its schedule file's timer.
			if left := traces(t, conn, "create", name); !slices.Equal(left, []string{"GetTimer answers "}) {
				t.Errorf("after the crash at %s and a restart, the timer left %v", step, left)
			}
			if f := readFacts(t, conn, unit); f != (facts{FileState: "disabled"}) {
				t.Errorf("after the crash at %s and a restart, disk and systemd say %+v", step, f)
			}
			var path dbus.ObjectPath
			if err := call(t, conn, rootPath, managerIf+".CreateTimerWithFlags", "create", name, crashSpec, flagEnable|flagStart).Store(&path); err != nil {
				t.Fatalf("retrying after the crash at %s: %v", step, err)
			}
			t.Cleanup(func() { mustCall(t, conn, rootPath, managerIf+".RemoveTimer", path) })
			if got, f := status(t, conn, path), readFacts(t, conn, unit); got != "running" || f.status() != "running" {
				t.Errorf("the retry after the crash at %s: status %s, disk and systemd say %+v", step, got, f)
			}
		})
	}
}
