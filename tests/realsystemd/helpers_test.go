package realsystemd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/tests/nstest"
)

const (
	busName   = nstest.BusName
	rootPath  = nstest.RootPath
	managerIf = nstest.ManagerIf
	timerIf   = nstest.TimerIf
	propsIf   = nstest.PropsIf
	// hangGuard bounds the waits for signals: long enough never to fail a
	// slow but working daemon (the benchmark reports how fast it is).
	hangGuard = 10 * time.Second
)

func testCtx(t testing.TB) context.Context { return nstest.Ctx(t, 60*time.Second) }

// connect opens a root client connection to the namespace's system bus;
// as t ends, the daemon must not have disagreed with systemd.
func connect(t testing.TB) *dbus.Conn {
	t.Helper()
	t.Cleanup(func() { agreeWithSystemd(t) })
	return nstest.MustConnect(t, ns)
}

func call(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	t.Helper()
	return nstest.Call(conn, path, method, args...)
}

func mustCall(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	t.Helper()
	return nstest.MustCall(t, conn, path, method, args...)
}

func errName(err error) string { return nstest.ErrName(err) }

// gcSpec is snapm's calendar of every gc timer.
const gcSpec = schedule.GCCalendarSpec

// withSchedule writes the schedule file of name in the namespace, as
// `snapm schedule create` would with calendar spec, unless a gc timer's
// finds it there already; the test's end removes it.
func withSchedule(t testing.TB, typ, name, spec string) {
	t.Helper()
	file := ns.SnapmDirPath("schedule.d", name+".json")
	if typ == "gc" {
		if exists(file) {
			return
		}
		spec = "daily"
	}
	if err := ns.WriteSchedule(name, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Error(err)
		}
	})
}

// create makes a timer, and its schedule first (see scheduleTimers).
func create(t testing.TB, conn *dbus.Conn, typ, name, spec string) dbus.ObjectPath {
	t.Helper()
	scheduleTimers(t, conn, typ, name, spec)
	var path dbus.ObjectPath
	if err := mustCall(t, conn, rootPath, managerIf+".CreateTimer", typ, name, spec).Store(&path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Gone already (a test removed it) is fine; failing to remove is not.
		if err := call(t, conn, rootPath, managerIf+".RemoveTimer", path).Err; err != nil && errName(err) != errPrefix+"NoSuchTimer" {
			t.Errorf("removing %s: %v", path, err)
		}
	})
	return path
}

func props(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath) map[string]dbus.Variant {
	t.Helper()
	var all map[string]dbus.Variant
	if err := mustCall(t, conn, path, propsIf+".GetAll", timerIf).Store(&all); err != nil {
		t.Fatal(err)
	}
	return all
}

func status(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath) string {
	t.Helper()
	return props(t, conn, path)["Status"].Value().(string)
}

func wantStatus(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, want string) {
	t.Helper()
	if got := status(t, conn, path); got != want {
		t.Fatalf("Status of %s = %q, want %q", path, got, want)
	}
}

// inNS runs a command inside the namespace as root.
func inNS(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := ns.Output(testCtx(t), argv...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// systemctlState runs systemctl is-enabled/is-active, which exit non-zero
// for the negative answers we also want to read.
func systemctlState(t testing.TB, verb, unit string) string {
	t.Helper()
	out, _ := ns.Output(testCtx(t), "systemctl", verb, unit)
	return strings.TrimSpace(out)
}

// unitProp reads a property straight from systemd over the bus.
func unitProp(t testing.TB, conn *dbus.Conn, unit, iface, name string) dbus.Variant {
	t.Helper()
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var path dbus.ObjectPath
	if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path); err != nil {
		t.Fatalf("GetUnit %s: %v", unit, err)
	}
	v, err := conn.Object("org.freedesktop.systemd1", path).GetProperty(iface + "." + name)
	if err != nil {
		t.Fatalf("%s.%s of %s: %v", iface, name, unit, err)
	}
	return v
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// watch subscribes to PropertiesChanged of path.
func watch(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath) <-chan *dbus.Signal {
	t.Helper()
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(path), dbus.WithMatchInterface(propsIf),
		dbus.WithMatchMember("PropertiesChanged")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 100)
	conn.Signal(ch)
	return ch
}

// waitChange waits until a PropertiesChanged on path carries every wanted
// value (accumulated over signals) and returns every value it saw.
func waitChange(t testing.TB, ch <-chan *dbus.Signal, path dbus.ObjectPath, want map[string]any, timeout time.Duration) map[string]any {
	t.Helper()
	seen := map[string]any{}
	deadline := time.After(timeout)
	for {
		select {
		case sig := <-ch:
			if sig.Path != path || sig.Name != propsIf+".PropertiesChanged" {
				continue
			}
			changed := sig.Body[1].(map[string]dbus.Variant)
			for k, v := range changed {
				seen[k] = v.Value()
			}
			if matches(seen, want) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no PropertiesChanged with %v on %s within %v (saw %v)", want, path, timeout, seen)
		}
	}
}

func matches(seen, want map[string]any) bool {
	for k, v := range want {
		if seen[k] != v {
			return false
		}
	}
	return true
}

func usecNow() uint64 { return uint64(time.Now().UnixMicro()) }

// createRunning makes a timer and takes it to running.
func createRunning(t testing.TB, conn *dbus.Conn, typ, name, spec string) dbus.ObjectPath {
	t.Helper()
	path := create(t, conn, typ, name, spec)
	mustCall(t, conn, path, timerIf+".Enable")
	mustCall(t, conn, path, timerIf+".Start")
	return path
}

// preciseElapses makes unit fire on time, as an admin might, without
// systemd's default minute of slack, so that a test sees elapses come.
func preciseElapses(t testing.TB, unit string) {
	t.Helper()
	accuracy := ns.UnitDirPath(unit+".d", "20-accuracy.conf")
	if err := os.MkdirAll(filepath.Dir(accuracy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(accuracy, []byte("[Timer]\nAccuracySec=1us\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(accuracy)) })
}

// waitSchedule writes the schedule file of name (see withSchedule) and
// returns its object once the daemon shows it.
func waitSchedule(t testing.TB, conn *dbus.Conn, name, spec string) dbus.ObjectPath {
	t.Helper()
	withSchedule(t, "create", name, spec)
	var path dbus.ObjectPath
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(10 * time.Millisecond) {
		err := call(t, conn, rootPath, managerIf+".GetSchedule", name).Store(&path)
		if err == nil {
			return path
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s not on the bus after %v: %v", name, hangGuard, err)
		}
	}
}
