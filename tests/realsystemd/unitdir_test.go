package realsystemd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// dirNames lists a directory under the unit directory, as the daemon
// sees it.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	return strings.Fields(inNS(t, "ls", "-A", "/etc/systemd/system/"+dir))
}

// TestSnapmCanDisable: what the daemon writes, snapm's own disable
// (remove the drop-in, then rmdir UNIT.d) can take away, also after a
// crash mid-write: a UNIT.d never holds anything but the drop-in, and the
// temporary files a crash leaves go when the daemon starts.
func TestSnapmCanDisable(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@snapmdisable.timer"
	path := create(t, conn, "create", "snapmdisable", "hourly")
	mustCall(t, conn, path, timerIf+".Enable")
	for _, spec := range []string{"daily", "Sat,Sun 08:05:40", "weekly"} {
		mustCall(t, conn, path, timerIf+".SetCalendarSpec", spec)
	}
	if got := dirNames(t, unit+".d"); !slices.Equal(got, []string{dropin.FileName}) {
		t.Errorf("UNIT.d holds %q, want only %s", got, dropin.FileName)
	}

	// What a crash mid-write leaves: a temporary file next to UNIT.d.
	leftover := ns.UnitDirPath(".snapm-timersd-crashed")
	if err := os.WriteFile(leftover, []byte("[Timer]\nOnCal"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(leftover) })
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	conn = connect(t)
	wantStatus(t, conn, path, "enabled")
	if exists(leftover) {
		t.Errorf("%s is still there after a restart", leftover)
	}
	for _, name := range dirNames(t, "") {
		if strings.HasPrefix(name, ".snapm-timersd-") {
			t.Errorf("temporary file %s left in the unit directory", name)
		}
	}

	// snapm schedule disable, as upstream snapm does it.
	inNS(t, "systemctl", "disable", unit)
	inNS(t, "sh", "-c", "rm /etc/systemd/system/"+unit+".d/"+dropin.FileName+" && rmdir /etc/systemd/system/"+unit+".d")
}

// TestPlantedSymlinks: a symlink planted under the unit directory, as a
// timer's UNIT.d or as its drop-in, does not redirect the daemon's root
// writes: the call fails with IOError and what the link points to is not
// touched. The links point into the namespace's private /run.
func TestPlantedSymlinks(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@planted.timer"
	path := create(t, conn, "create", "planted", "yearly")
	const outside = "/run/snapm-planted"
	inNS(t, "sh", "-c", "mkdir -p "+outside+" && printf '[Timer]\\nOnCalendar=monthly\\n' > "+outside+"/victim")
	t.Cleanup(func() { inNS(t, "rm", "-rf", outside) })
	untouched := func(t *testing.T) {
		t.Helper()
		if got := inNS(t, "sh", "-c", "ls -A "+outside+" && cat "+outside+"/victim"); got != "victim\n[Timer]\nOnCalendar=monthly" {
			t.Errorf("the link's target changed:\n%s", got)
		}
	}
	unitD := ns.UnitDirPath(unit + ".d")
	for name, plant := range map[string]func() error{
		"UNIT.d": func() error { return os.Symlink(outside, unitD) },
		"drop-in": func() error {
			if err := os.Mkdir(unitD, 0o755); err != nil {
				return err
			}
			return os.Symlink(filepath.Join(outside, "victim"), filepath.Join(unitD, dropin.FileName))
		},
	} {
		t.Run(name, func(t *testing.T) {
			// In place of the empty UNIT.d CreateTimer made.
			if err := os.Remove(unitD); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := plant(); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(unitD)
			if got := errName(call(t, conn, path, timerIf+".Enable").Err); got != errPrefix+"IOError" {
				t.Errorf("Enable through a planted %s symlink: %q, want IOError", name, got)
			}
			untouched(t)
		})
	}
}

// TestEnableLeavesUnitDirAlone: CreateTimer makes the empty UNIT.d, so
// that Enable and Start change nothing in the unit directory itself (any
// change there makes systemd rescan every unit directory at its next
// load), and systemd still runs the drop-in's schedule: it learnt of the
// directory at the first load after CreateTimer. RemoveTimer takes the
// directory with the timer.
func TestEnableLeavesUnitDirAlone(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@quietdir.timer"
	path := create(t, conn, "create", "quietdir", "Mon..Fri 08:00")
	if got := dirNames(t, unit+".d"); len(got) != 0 {
		t.Fatalf("after CreateTimer UNIT.d holds %q, want it empty", got)
	}
	// The first timer ever enabled makes timers.target.wants, as it
	// would without the daemon.
	inNS(t, "mkdir", "-p", "/etc/systemd/system/timers.target.wants")
	// A past mtime that any entry added to or removed from the directory
	// would replace.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(ns.UnitDirPath(), past, past); err != nil {
		t.Fatal(err)
	}
	mustCall(t, conn, path, timerIf+".Enable")
	mustCall(t, conn, path, timerIf+".Start")
	if fi, err := os.Stat(ns.UnitDirPath()); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("Enable and Start changed the unit directory: mtime %v, was %v (%v)", fi.ModTime(), past, err)
	}
	if got := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.Contains(got, "OnCalendar=Mon..Fri *-*-* 08:00:00") {
		t.Errorf("systemd runs %q, not the drop-in's schedule", got)
	}
	mustCall(t, conn, rootPath, managerIf+".RemoveTimer", path)
	if exists(ns.UnitDirPath(unit + ".d")) {
		t.Error("UNIT.d is still there after RemoveTimer")
	}
}
