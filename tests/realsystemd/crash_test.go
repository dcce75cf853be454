package realsystemd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
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

// facts are the disk's and systemd's own view of a timer unit, read from
// systemd over the bus.
type facts struct {
	DropIn    bool
	Spec      string // the drop-in's OnCalendar=, "" without one
	FileState string // GetUnitFileState
	Active    bool
}

func readFacts(t testing.TB, conn *dbus.Conn, unit string) facts {
	t.Helper()
	var f facts
	var err error
	if f.Spec, f.DropIn, err = dropin.Read(ns.UnitDirPath(), unit); err != nil {
		t.Fatalf("reading the drop-in of %s: %v", unit, err)
	}
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnitFileState", 0, unit).Store(&f.FileState); err != nil {
		t.Fatalf("GetUnitFileState %s: %v", unit, err)
	}
	var path dbus.ObjectPath
	if sd.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path) == nil {
		v, err := conn.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
		if err != nil {
			t.Fatalf("ActiveState of %s: %v", unit, err)
		}
		f.Active = v.Value() == "active"
	}
	return f
}

// status is what the status table says of these facts.
func (f facts) status() string {
	enabled := f.FileState == "enabled"
	switch {
	case !f.DropIn && !enabled && !f.Active:
		return "disabled"
	case f.DropIn && enabled && !f.Active:
		return "enabled"
	case f.DropIn && enabled && f.Active:
		return "running"
	}
	return "invalid"
}

// statusFromFacts is what the status table says of the disk's and
// systemd's own view of unit.
func statusFromFacts(t testing.TB, conn *dbus.Conn, unit string) string {
	t.Helper()
	return readFacts(t, conn, unit).status()
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

// killAt runs, until the test ends, the build that kills itself at step.
func killAt(t testing.TB, step string) {
	t.Helper()
	runDaemon(t, "[Service]\nExecStart=\nExecStart=/usr/libexec/snapm-timersd-crashpoints\n"+
		"Environment="+crashpoint.EnvVar+"="+step+"\n")
	t.Cleanup(func() { runDaemon(t, "") })
}

// callKilled calls method, which must kill the daemon at step: the caller
// gets no reply.
func callKilled(t testing.TB, conn *dbus.Conn, step string, path dbus.ObjectPath, method string, args ...any) {
	t.Helper()
	err := call(t, conn, path, method, args...).Err
	if got := errName(err); got != "org.freedesktop.DBus.Error.NoReply" {
		t.Fatalf("%s with the daemon killed at %s: %s %v", method, step, got, err)
	}
}

// crashSpec is the crash timers' schedule, not the template's daily, so
// that a drop-in on disk is ours.
const crashSpec = "Mon..Fri 06:30"

// leftBehind is what each crash point must leave on disk and in systemd:
// the steps before it done, none after. EnableDropInWritten is hit while
// systemd may still be enabling the unit file (the two overlap), so
// either answer is right there.
var leftBehind = map[string][]facts{
	crashpoint.EnableDropInWritten: {{DropIn: true, Spec: crashSpec, FileState: "disabled"},
		{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.EnableUnitEnabled:   {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.EnableSynced:        {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.DisableStopped:      {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.DisableUnitDisabled: {{DropIn: true, Spec: crashSpec, FileState: "disabled"}},
	crashpoint.DisableDropInGone:   {{FileState: "disabled"}},
}

// TestKilledMidOperation kills the daemon with SIGKILL at each step of
// Enable and Disable and checks that the crash left exactly what that step
// must leave, that the restarted daemon tells the truth about it, leaves
// no drop-in without its object, and that the operation then completes.
func TestKilledMidOperation(t *testing.T) {
	conn := connect(t)
	for _, step := range crashpoint.Steps {
		t.Run(step, func(t *testing.T) {
			method, want := "Enable", facts{DropIn: true, Spec: crashSpec, FileState: "enabled"}
			if strings.HasPrefix(step, "disable:") {
				method, want = "Disable", facts{FileState: "disabled"}
			}
			name := "crash-" + strings.NewReplacer(":", "-").Replace(step)
			unit := "snapm-create@" + name + ".timer"
			path := create(t, conn, "create", name, crashSpec)
			if method == "Disable" {
				mustCall(t, conn, path, timerIf+".Enable")
				mustCall(t, conn, path, timerIf+".Start")
			}
			killAt(t, step)
			callKilled(t, conn, step, path, timerIf+"."+method)
			left := readFacts(t, conn, unit)
			if !slices.Contains(leftBehind[step], left) {
				t.Errorf("killed at %s, the crash left %+v; that step leaves one of %+v", step, left, leftBehind[step])
			}
			runDaemon(t, "")
			if got := status(t, conn, path); got != left.status() {
				t.Errorf("after the crash at %s the status is %s; disk and systemd say %s", step, got, left.status())
			}
			noOrphanedDropIns(t, conn)
			t.Logf("killed at %s: %+v, status %s after restart", step, left, left.status())

			mustCall(t, conn, path, timerIf+"."+method)
			if got, now := status(t, conn, path), readFacts(t, conn, unit); now != want || got != want.status() {
				t.Errorf("after %s again: status %s, disk and systemd say %+v, want %+v", method, got, now, want)
			}
		})
	}
}
