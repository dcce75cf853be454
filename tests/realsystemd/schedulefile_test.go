package realsystemd

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// objectSignals hears every InterfacesAdded and InterfacesRemoved of the
// daemon, in order.
func objectSignals(t *testing.T) <-chan *dbus.Signal {
	conn := connect(t)
	if err := conn.AddMatchSignal(dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(rootPath),
		dbus.WithMatchInterface("org.freedesktop.DBus.ObjectManager")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 100)
	conn.Signal(ch)
	return ch
}

// waitObjects waits until member (InterfacesAdded or InterfacesRemoved)
// was signalled for every path, and returns the timer properties each
// InterfacesAdded carried.
func waitObjects(t *testing.T, ch <-chan *dbus.Signal, member string, within time.Duration, paths ...dbus.ObjectPath) map[dbus.ObjectPath]map[string]dbus.Variant {
	t.Helper()
	got := map[dbus.ObjectPath]map[string]dbus.Variant{}
	deadline := time.After(within)
	for len(got) < len(paths) {
		select {
		case sig := <-ch:
			path, _ := sig.Body[0].(dbus.ObjectPath)
			if sig.Name != "org.freedesktop.DBus.ObjectManager."+member || !slices.Contains(paths, path) {
				continue
			}
			got[path] = nil
			if ifaces, ok := sig.Body[1].(map[string]map[string]dbus.Variant); ok {
				got[path] = ifaces[timerIf]
			}
		case <-deadline:
			t.Fatalf("%s of %v within %v: only %v", member, paths, within, got)
		}
	}
	return got
}

// scheduleTimers writes the schedule file of name for a timer of type
// typ (see withSchedule) and waits until the daemon shows the two timers
// it brings, so that a CreateTimer then takes them over rather than
// racing them.
func scheduleTimers(t testing.TB, conn *dbus.Conn, typ, name, spec string) {
	t.Helper()
	withSchedule(t, typ, name, spec)
	for _, typ := range []string{"create", "gc"} {
		for deadline := time.Now().Add(hangGuard); call(t, conn, rootPath, managerIf+".GetTimer", typ, name).Err != nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the %s timer of schedule %s not on the bus after %v", typ, name, hangGuard)
			}
		}
	}
}

// removeForGood removes the timer at path and its schedule file, and
// waits until the timer is gone from the bus.
func removeForGood(t testing.TB, conn *dbus.Conn, typ, name string, path dbus.ObjectPath) {
	t.Helper()
	mustCall(t, conn, rootPath, managerIf+".RemoveTimer", path)
	if err := os.Remove(ns.SnapmDirPath("schedule.d", name+".json")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		err := call(t, conn, rootPath, managerIf+".GetTimer", typ, name).Err
		if errName(err) == errPrefix+"NoSuchTimer" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetTimer 1 s after its schedule file went: %v", err)
		}
	}
}

// TestScheduleFileAloneBringsTimers: a schedule file with nothing else of
// its timers (written by hand, restored from a backup, or left by a
// `snapm schedule create` killed before its drop-ins) brings both timer
// objects within 1 s, disabled as systemd and the disk say, and the
// schedule points at them; a restart keeps them and writes nothing; the
// file removed takes both within 1 s, and a restart brings none back.
func TestScheduleFileAloneBringsTimers(t *testing.T) {
	objs := objectSignals(t)
	conn := connect(t)
	const name = "sf-alone"
	paths := []dbus.ObjectPath{rootPath + "/create/sf_2dalone", rootPath + "/gc/sf_2dalone"}
	file := ns.SnapmDirPath("schedule.d", name+".json")
	if err := ns.WriteSchedule(name, "weekly"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })
	added := waitObjects(t, objs, "InterfacesAdded", time.Second, paths...)
	for path, spec := range map[dbus.ObjectPath]string{paths[0]: "weekly", paths[1]: gcSpec} {
		p := added[path]
		if p["Status"].Value() != "disabled" || p["CalendarSpec"].Value() != spec || p["NextElapse"].Value() == uint64(0) {
			t.Errorf("%s came as %v, want disabled on %q with a next elapse", path, p, spec)
		}
	}
	sched := waitSchedule(t, conn, name, "weekly")
	for prop, want := range map[string]dbus.ObjectPath{"CreateTimer": paths[0], "GcTimer": paths[1]} {
		var got dbus.ObjectPath
		if err := mustCall(t, conn, sched, propsIf+".Get", scheduleIf, prop).Store(&got); err != nil || got != want {
			t.Errorf("%s: %s (%v), want %s", prop, got, err, want)
		}
		if got := status(t, conn, want); got != "disabled" {
			t.Errorf("%s shows %s, want disabled", want, got)
		}
	}
	for _, typ := range []string{"create", "gc"} {
		if got := traces(t, conn, typ, name); !slices.Equal(got, []string{"GetTimer answers "}) {
			t.Errorf("%s timer of a schedule file leaves %q", typ, got)
		}
	}

	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	conn = connect(t)
	for _, path := range paths {
		if got := status(t, conn, path); got != "disabled" {
			t.Errorf("after a restart %s shows %s, want disabled", path, got)
		}
	}
	objs = objectSignals(t)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitObjects(t, objs, "InterfacesRemoved", time.Second, paths...)
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	conn = connect(t)
	for _, typ := range []string{"create", "gc"} {
		if got := traces(t, conn, typ, name); len(got) != 0 {
			t.Errorf("%s timer of a removed schedule file leaves %q after a restart", typ, got)
		}
	}
}
