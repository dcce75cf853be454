package realsystemd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// writeDropInAsSnapm writes unit's drop-in as snapm's Python code does:
// makedirs, a temporary file in UNIT.d, rename, chmod, fsync.
func writeDropInAsSnapm(t *testing.T, unit, spec string) {
	t.Helper()
	dir := ns.UnitDirPath(unit + ".d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".tmp_")
	if err != nil {
		t.Fatal(err)
	}
	content := "[Timer]\n# Reset the OnCalendar list\nOnCalendar=\n# Configure OnCalendar for this template instance.\nOnCalendar=" + spec + "\n"
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	file := filepath.Join(dir, "10-oncalendar.conf")
	if err := os.Rename(f.Name(), file); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitProps waits until path's properties, as GetAll reads them, hold
// every wanted value, reading them again after each PropertiesChanged on
// path that ch (see watch) brings. Neither a reply nor the signals around
// it tell the state alone: the daemon publishes a change before it signals
// it, but a reply read before the change may reach us after the signal.
// So a signal never carries values here; it only says "read again", and a
// change made after a read always signals after it. It returns them all.
func waitProps(t *testing.T, conn *dbus.Conn, ch <-chan *dbus.Signal, path dbus.ObjectPath, want map[string]any) map[string]dbus.Variant {
	t.Helper()
	deadline := time.After(hangGuard)
	for {
		// Signals so far are older than the read below.
		for drained := false; !drained; {
			select {
			case <-ch:
			default:
				drained = true
			}
		}
		var all map[string]dbus.Variant
		if err := mustCall(t, conn, path, propsIf+".GetAll", timerIf).Store(&all); err != nil {
			t.Fatal(err)
		}
		seen := map[string]any{}
		for k, v := range all {
			seen[k] = v.Value()
		}
		if matches(seen, want) {
			return all
		}
		for changed := false; !changed; {
			select {
			case sig := <-ch:
				changed = sig.Path == path && sig.Name == propsIf+".PropertiesChanged"
			case <-deadline:
				t.Fatalf("%s never showed %v (shows %v)", path, want, seen)
			}
		}
	}
}

// sdTimer reads a property of systemd's org.freedesktop.systemd1.Timer.
func sdTimer(t *testing.T, conn *dbus.Conn, unit, name string) any {
	t.Helper()
	return unitProp(t, conn, unit, "org.freedesktop.systemd1.Timer", name).Value()
}

// sdCalendar is the one OnCalendar= expression systemd has loaded for unit.
func sdCalendar(t *testing.T, conn *dbus.Conn, unit string) string {
	t.Helper()
	var entries []struct {
		Base, Spec string
		Next       uint64
	}
	if err := dbus.Store([]any{sdTimer(t, conn, unit, "TimersCalendar")}, &entries); err != nil || len(entries) != 1 {
		t.Fatalf("TimersCalendar of %s: %v (%v)", unit, entries, err)
	}
	return entries[0].Spec
}

// TestHandEditSeenWithoutReload: an admin edits the drop-in of an enabled
// timer and does not reload; the object shows the new schedule within a
// second. Planted bug: the daemon's watcher not started; no
// PropertiesChanged comes.
func TestHandEditSeenWithoutReload(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@handedit.timer"
	path := create(t, conn, "create", "handedit", "*:0/5")
	mustCall(t, conn, path, timerIf+".Enable")
	ch := watch(t, conn, path)

	before := usecNow()
	writeDropInAsSnapm(t, unit, "minutely")
	took := waitChange(t, ch, path, map[string]any{"CalendarSpec": "minutely", "Normalized": "*-*-* *:*:00"}, hangGuard)
	t.Logf("hand edit -> PropertiesChanged in %v", took)
	p := props(t, conn, path)
	if next := p["NextElapse"].Value().(uint64); next <= before || next > usecNow()+60e6 || next%60e6 != 0 {
		t.Errorf("NextElapse %d is not a minute's start after the edit (%d)", next, before)
	}
	if p["Status"].Value() != "enabled" || p["NeedDaemonReload"].Value() != false {
		t.Errorf("after the hand edit of a timer systemd has not loaded: %v", p)
	}
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestHandEditNeedsDaemonReload: the drop-in of a running timer edited by
// hand: the object shows the disk's schedule and that systemd still runs
// the old one (NeedDaemonReload) until a daemon-reload, then systemd's new
// values. Planted bugs: NeedDaemonReload always published false; the
// bulk read after a reload not re-reading a timer that needed it (Normalized
// stays at the old expression).
func TestHandEditNeedsDaemonReload(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@needreload.timer"
	path := createRunning(t, conn, "create", "needreload", "*:0/5")
	ch := watch(t, conn, path)

	writeDropInAsSnapm(t, unit, "minutely")
	waitChange(t, ch, path, map[string]any{"CalendarSpec": "minutely", "Normalized": "*-*-* *:*:00", "NeedDaemonReload": true}, hangGuard)
	p := props(t, conn, path)
	if p["Status"].Value() != "running" {
		t.Errorf("Status %v while systemd still runs the old schedule", p["Status"])
	}
	// systemd still fires on the old schedule, and NextElapse says when.
	if got, sd := p["NextElapse"].Value().(uint64), sdTimer(t, conn, unit, "NextElapseUSecRealtime").(uint64); got != sd {
		t.Errorf("NextElapse %d before the reload; systemd's %d", got, sd)
	}

	inNS(t, "systemctl", "daemon-reload")
	if cal := sdCalendar(t, conn, unit); cal != "*-*-* *:*:00" {
		t.Fatalf("systemd runs %q after the reload", cal)
	}
	waitProps(t, conn, ch, path, map[string]any{"NeedDaemonReload": false, "Normalized": "*-*-* *:*:00",
		"NextElapse": sdTimer(t, conn, unit, "NextElapseUSecRealtime"), "Status": "running"})
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestDeletedUnitDirSeen: an admin deletes the UNIT.d of a running timer.
// At once the object shows the drop-in gone (invalid) and that systemd
// still runs it; after a daemon-reload systemd runs the template's own
// schedule, which NextElapse follows while Status stays invalid. Planted
// bug: the watcher not started.
func TestDeletedUnitDirSeen(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@deleted.timer"
	path := createRunning(t, conn, "create", "deleted", "*:0/5")
	ch := watch(t, conn, path)

	if err := os.RemoveAll(ns.UnitDirPath(unit + ".d")); err != nil {
		t.Fatal(err)
	}
	took := waitChange(t, ch, path, map[string]any{"Status": "invalid", "NeedDaemonReload": true}, hangGuard)
	t.Logf("UNIT.d deleted -> PropertiesChanged in %v", took)

	inNS(t, "systemctl", "daemon-reload")
	waitProps(t, conn, ch, path, map[string]any{"NeedDaemonReload": false, "Status": "invalid",
		"NextElapse": sdTimer(t, conn, unit, "NextElapseUSecRealtime")})
	mustCall(t, conn, path, timerIf+".Disable")
	wantStatus(t, conn, path, "disabled")
}

// TestNewUnitDirAdopted: snapm's Python code configures a new timer while
// the daemon runs; it becomes an object at once (InterfacesAdded, with the
// drop-in's schedule), and follows as snapm enables and starts it.
// Planted bug: the watcher not started; no InterfacesAdded comes.
func TestNewUnitDirAdopted(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-gc@bysnapm.timer"
	path := rootPath + "/gc/bysnapm"
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(rootPath), dbus.WithMatchInterface("org.freedesktop.DBus.ObjectManager"),
		dbus.WithMatchMember("InterfacesAdded")); err != nil {
		t.Fatal(err)
	}
	added := make(chan *dbus.Signal, 10)
	conn.Signal(added)
	t.Cleanup(func() {
		ns.Output(testCtx(t), "systemctl", "disable", "--now", unit)
		os.RemoveAll(ns.UnitDirPath(unit + ".d"))
		call(t, conn, rootPath, managerIf+".RemoveTimer", path)
	})

	start := time.Now()
	writeDropInAsSnapm(t, unit, "Mon *-*-* 04:00")
	var got map[string]dbus.Variant
	for got == nil {
		select {
		case sig := <-added:
			if sig.Name != "org.freedesktop.DBus.ObjectManager.InterfacesAdded" || sig.Body[0] != path {
				continue
			}
			got = sig.Body[1].(map[string]map[string]dbus.Variant)[timerIf]
		case <-time.After(hangGuard):
			t.Fatalf("no InterfacesAdded for %s", path)
		}
	}
	t.Logf("new UNIT.d -> InterfacesAdded in %v", time.Since(start))
	for name, want := range map[string]any{
		"Type": "gc", "Name": "bysnapm", "CalendarSpec": "Mon *-*-* 04:00", "Normalized": "Mon *-*-* 04:00:00",
		// A drop-in without enablement, until snapm enables it.
		"Status": "invalid", "Enabled": false, "Running": false, "NeedDaemonReload": false,
	} {
		if got[name].Value() != want {
			t.Errorf("InterfacesAdded: %s = %v, want %v", name, got[name], want)
		}
	}

	ch := watch(t, conn, path)
	inNS(t, "systemctl", "enable", unit)
	inNS(t, "systemctl", "start", unit)
	waitChange(t, ch, path, map[string]any{"Status": "running", "Enabled": true, "Running": true}, hangGuard)
	mustCall(t, conn, path, timerIf+".Disable")
}
