package realsystemd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
)

// runDaemon restarts the daemon with conf as a drop-in of its unit, or as
// installed when conf is "".
func runDaemon(t testing.TB, conf string) {
	t.Helper()
	configureDaemon(t, conf)
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
}

// configureDaemon makes conf a drop-in of the daemon's unit, or takes
// every drop-in away when conf is "", and has systemd load that.
func configureDaemon(t testing.TB, conf string) {
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

// crashEnv is the environment file of the build that kills itself, in its
// unit's drop-in directory (systemd loads only the .conf files there). It
// is read at each start, so the step changes with no daemon-reload.
const crashEnv = "crash.env"

// killAt runs, until the test ends, the build that kills itself at step.
func killAt(t testing.TB, step string) {
	t.Helper()
	configureDaemon(t, "[Service]\nExecStart=\nExecStart=/usr/libexec/snapm-timersd-crashpoints\n"+
		"EnvironmentFile=/etc/systemd/system/snapm-timersd.service.d/"+crashEnv+"\n")
	crashStep(t, step)
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	t.Cleanup(func() { runDaemon(t, "") })
}

// crashStep makes step the one the build killAt runs kills itself at from
// its next start; "" for none.
func crashStep(t testing.TB, step string) {
	t.Helper()
	env := crashpoint.EnvVar + "=" + step + "\n"
	if err := os.WriteFile(ns.UnitDirPath("snapm-timersd.service.d", crashEnv), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
}

// restartAfterCrash starts again the build killAt runs, which kills
// itself nowhere now. No daemon-reload comes with it: that would do the
// restarted daemon's own work for it.
func restartAfterCrash(t testing.TB) {
	t.Helper()
	crashStep(t, "")
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
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
// the steps before it done, none after.
var leftBehind = map[string][]facts{
	crashpoint.EnableDropInWritten: {{DropIn: true, Spec: crashSpec, FileState: "disabled"}},
	crashpoint.EnableUnitEnabled:   {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.EnableSynced:        {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.DisableStopped:      {{DropIn: true, Spec: crashSpec, FileState: "enabled"}},
	crashpoint.DisableUnitDisabled: {{DropIn: true, Spec: crashSpec, FileState: "disabled"}},
	crashpoint.DisableDropInGone:   {{FileState: "disabled"}},
}

// convergesTo is what the restarted daemon must bring each crash to: the
// call done, or not begun but for the Stop that Disable starts with. Never
// halfway (a drop-in and no enablement, which is invalid), as the crash
// at EnableDropInWritten or DisableUnitDisabled leaves it: the daemon's
// mark of its call tells start-up to finish it.
var convergesTo = map[string]facts{
	crashpoint.EnableDropInWritten: {DropIn: true, Spec: crashSpec, FileState: "enabled"},
	crashpoint.EnableUnitEnabled:   {DropIn: true, Spec: crashSpec, FileState: "enabled"},
	crashpoint.EnableSynced:        {DropIn: true, Spec: crashSpec, FileState: "enabled"},
	crashpoint.DisableStopped:      {DropIn: true, Spec: crashSpec, FileState: "enabled"},
	crashpoint.DisableUnitDisabled: {FileState: "disabled"},
	crashpoint.DisableDropInGone:   {FileState: "disabled"},
}

// TestKilledMidOperation kills the daemon with SIGKILL at each step of
// Enable and Disable and checks that the crash left exactly what that step
// must leave, that the restarted daemon converges from it to a state the
// caller could have seen and tells the truth about it, leaves systemd
// reloaded, no drop-in without its object and no empty UNIT.d, and that
// the operation then completes.
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
			restartAfterCrash(t)
			now := readFacts(t, conn, unit)
			if now != convergesTo[step] {
				t.Errorf("killed at %s with %+v left, after the restart disk and systemd say %+v, want %+v", step, left, now, convergesTo[step])
			}
			if got := status(t, conn, path); got != now.status() {
				t.Errorf("after the crash at %s the status is %s; disk and systemd say %s", step, got, now.status())
			}
			converged(t, conn, unit)
			t.Logf("killed at %s: %+v, %+v (%s) after restart", step, left, now, now.status())

			mustCall(t, conn, path, timerIf+"."+method)
			if got, now := status(t, conn, path), readFacts(t, conn, unit); now != want || got != want.status() {
				t.Errorf("after %s again: status %s, disk and systemd say %+v, want %+v", method, got, now, want)
			}
		})
	}
}

// converged fails t if unit is left as no call leaves it: loaded by
// systemd with NeedDaemonReload (the restarted daemon reloads after it is
// on the bus: waited for, within the hang guard), or an empty UNIT.d
// (the one Create makes for a timer never enabled is no crash test's).
func converged(t testing.TB, conn *dbus.Conn, unit string) {
	t.Helper()
	if entries, err := os.ReadDir(ns.UnitDirPath(unit + ".d")); err == nil && len(entries) == 0 {
		t.Errorf("%s.d is left empty", unit)
	}
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		var path dbus.ObjectPath
		if sd.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path) != nil {
			return // not loaded: nothing stale
		}
		v, err := conn.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1.Unit.NeedDaemonReload")
		if err != nil || v.Value() == false {
			return // unloaded meanwhile, or current
		}
		if time.Now().After(deadline) {
			t.Errorf("%s is loaded with NeedDaemonReload=yes", unit)
			return
		}
	}
}
