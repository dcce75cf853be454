package realsystemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/crashpoint"
)

// runDaemon restarts the daemon with conf as a drop-in of its unit, or as
// installed when conf is "".
func runDaemon(t testing.TB, conf string) {
	t.Helper()
	dir := ns.UnitDirPath("snapm-timersd.service.d")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if conf != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "50-test.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inNS(t, "systemctl", "daemon-reload")
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
}

// statusFromFacts is what the status table says of the disk's and
// systemd's own view of unit, read from systemd over the bus.
func statusFromFacts(t testing.TB, conn *dbus.Conn, unit string) string {
	t.Helper()
	dropIn := exists(ns.UnitDirPath(unit+".d", "10-oncalendar.conf"))
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var fileState string
	if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnitFileState", 0, unit).Store(&fileState); err != nil {
		t.Fatalf("GetUnitFileState %s: %v", unit, err)
	}
	enabled := fileState == "enabled"
	active := false
	var path dbus.ObjectPath
	if sd.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path) == nil {
		v, err := conn.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
		if err != nil {
			t.Fatalf("ActiveState of %s: %v", unit, err)
		}
		active = v.Value() == "active"
	}
	switch {
	case !dropIn && !enabled && !active:
		return "disabled"
	case dropIn && enabled && !active:
		return "enabled"
	case dropIn && enabled && active:
		return "running"
	}
	return "invalid"
}

// noOrphanedDropIns: every snapm drop-in on disk has its object.
func noOrphanedDropIns(t testing.TB, conn *dbus.Conn) {
	t.Helper()
	dirs, _ := filepath.Glob(ns.UnitDirPath("snapm-*@*.timer.d"))
	for _, d := range dirs {
		unit := strings.TrimSuffix(filepath.Base(d), ".d")
		typ, name, _ := strings.Cut(strings.TrimPrefix(unit, "snapm-"), "@")
		if err := call(t, conn, rootPath, managerIf+".GetTimer", typ, strings.TrimSuffix(name, ".timer")).Err; err != nil {
			t.Errorf("drop-in %s has no object: %v", d, err)
		}
	}
}

// TestKilledMidOperation kills the daemon with SIGKILL at each step of
// Enable and Disable, restarts it, and checks that it tells the truth
// about what the crash left (from disk and systemd), leaves no drop-in
// without its object, and that the operation then completes.
func TestKilledMidOperation(t *testing.T) {
	conn := connect(t)
	for _, step := range crashpoint.Steps {
		t.Run(step, func(t *testing.T) {
			method, want := "Enable", "enabled"
			if strings.HasPrefix(step, "disable:") {
				method, want = "Disable", "disabled"
			}
			name := "crash-" + strings.NewReplacer(":", "-").Replace(step)
			unit := "snapm-gc@" + name + ".timer"
			path := create(t, conn, "gc", name, "daily")
			if method == "Disable" {
				mustCall(t, conn, path, timerIf+".Enable")
				mustCall(t, conn, path, timerIf+".Start")
			}
			runDaemon(t, "[Service]\nExecStart=\nExecStart=/usr/libexec/snapm-timersd-crashpoints\n"+
				"Environment="+crashpoint.EnvVar+"="+step+"\n")
			t.Cleanup(func() { runDaemon(t, "") })

			err := call(t, conn, path, timerIf+"."+method).Err
			if got := errName(err); got != "org.freedesktop.DBus.Error.NoReply" {
				t.Fatalf("%s with the daemon killed at %s: %s %v", method, step, got, err)
			}
			runDaemon(t, "")
			facts := statusFromFacts(t, conn, unit)
			if got := status(t, conn, path); got != facts {
				t.Errorf("after the crash at %s the status is %s; disk and systemd say %s", step, got, facts)
			}
			noOrphanedDropIns(t, conn)
			t.Logf("killed at %s: status %s after restart", step, facts)

			mustCall(t, conn, path, timerIf+"."+method)
			if got, facts := status(t, conn, path), statusFromFacts(t, conn, unit); got != want || facts != want {
				t.Errorf("after %s again: status %s, disk and systemd say %s, want %s", method, got, facts, want)
			}
		})
	}
}
