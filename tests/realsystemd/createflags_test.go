package realsystemd

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	flagEnable = uint64(0x1)
	flagStart  = uint64(0x2)
)

// addedSignals hears every InterfacesAdded of the daemon, in order.
func addedSignals(t *testing.T) <-chan *dbus.Signal {
	conn := connect(t)
	if err := conn.AddMatchSignal(dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(rootPath),
		dbus.WithMatchInterface("org.freedesktop.DBus.ObjectManager"), dbus.WithMatchMember("InterfacesAdded")); err != nil {
		t.Fatal(err)
	}
	raw, ch := make(chan *dbus.Signal, 100), make(chan *dbus.Signal, 100)
	conn.Signal(raw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sig := range raw {
			// Schedules come and go with the files the tests write.
			if strings.HasPrefix(string(sig.Body[0].(dbus.ObjectPath)), string(rootPath)+"/schedule/") {
				continue
			}
			select {
			case ch <- sig:
			default: // more than any test reads
			}
		}
	}()
	t.Cleanup(func() {
		conn.RemoveSignal(raw)
		close(raw)
		<-done
	})
	return ch
}

// traces says what the unit has on disk and in the daemon: its
// drop-in directory, its record, its enablement, its object.
func traces(t *testing.T, conn *dbus.Conn, typ, name string) []string {
	t.Helper()
	unit := "snapm-" + typ + "@" + name + ".timer"
	var out []string
	if exists(ns.UnitDirPath(unit + ".d")) {
		out = append(out, "UNIT.d")
	}
	if exists(ns.UnitDirPath("timers.target.wants", unit)) {
		out = append(out, "timers.target.wants link")
	}
	if _, err := ns.Output(testCtx(t), "test", "-e", "/var/lib/snapm-timersd/timers/"+unit); err == nil {
		out = append(out, "record")
	}
	if err := call(t, conn, rootPath, managerIf+".GetTimer", typ, name).Err; errName(err) != errPrefix+"NoSuchTimer" {
		out = append(out, "GetTimer answers "+errName(err))
	}
	return out
}

// TestCreateTimerWithFlags: one call gives a running timer that systemd
// agrees with, announced once already running, and every signal true.
func TestCreateTimerWithFlags(t *testing.T) {
	rec, conn := recordTruth(t)
	const name = "one-call"
	unit := "snapm-create@" + name + ".timer"
	scheduleTimers(t, conn, "create", name, "hourly")
	added := addedSignals(t)
	var path dbus.ObjectPath
	if err := mustCall(t, conn, rootPath, managerIf+".CreateTimerWithFlags", "create", name, "hourly", flagEnable|flagStart).Store(&path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { call(t, conn, rootPath, managerIf+".RemoveTimer", path) })

	// What the reply promises, systemd and the disk say.
	if got := systemctlState(t, "is-enabled", unit); got != "enabled" {
		t.Errorf("systemctl is-enabled %s: %s, want enabled", unit, got)
	}
	if got := systemctlState(t, "is-active", unit); got != "active" {
		t.Errorf("systemctl is-active %s: %s, want active", unit, got)
	}
	want := "[Timer]\n# Reset the OnCalendar list\nOnCalendar=\n# Configure OnCalendar for this template instance.\nOnCalendar=hourly\n"
	if got, err := os.ReadFile(dropInPath(unit)); err != nil || string(got) != want {
		t.Errorf("drop-in: %q (%v), want %q", got, err, want)
	}
	if got := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.HasPrefix(got, "{ OnCalendar=*-*-* *:00:00 ;") {
		t.Errorf("systemd runs %q, want the drop-in's hourly", got)
	}
	// The object its schedule file brought was taken over, not announced
	// again.
	select {
	case sig := <-added:
		t.Errorf("InterfacesAdded %v after the schedule file's", sig.Body[0])
	case <-time.After(300 * time.Millisecond):
	}
	rec.settle(conn, path, "running", 5*time.Second)
}

// TestCreateTimerWithFlagsAllOrNothing: flags it does not take are refused
// before anything changes, and a timer whose enabling fails (its unit
// masked by hand) is not created: nothing on disk, no object.
func TestCreateTimerWithFlagsAllOrNothing(t *testing.T) {
	conn := connect(t)
	const name = "masked"
	unit := "snapm-create@" + name + ".timer"
	scheduleTimers(t, conn, "create", "bad-flags", "hourly")
	scheduleTimers(t, conn, "create", name, "hourly")
	added := addedSignals(t)
	// The schedule file's own timer, unclaimed, is all there is.
	schedules := []string{"GetTimer answers "}
	for _, flags := range []uint64{flagStart, 0x4, flagEnable | 0x8} {
		err := call(t, conn, rootPath, managerIf+".CreateTimerWithFlags", "create", "bad-flags", "hourly", flags).Err
		if errName(err) != "org.freedesktop.DBus.Error.InvalidArgs" {
			t.Errorf("flags %#x: %v, want InvalidArgs", flags, err)
		}
		if left := traces(t, conn, "create", "bad-flags"); !slices.Equal(left, schedules) {
			t.Errorf("flags %#x refused, but left %q", flags, left)
		}
	}

	inNS(t, "systemctl", "mask", unit)
	t.Cleanup(func() { inNS(t, "systemctl", "unmask", unit) })
	err := call(t, conn, rootPath, managerIf+".CreateTimerWithFlags", "create", name, "hourly", flagEnable|flagStart).Err
	if errName(err) != errPrefix+"Masked" {
		t.Errorf("create of a masked unit: %v, want Masked", err)
	}
	if left := traces(t, conn, "create", name); !slices.Equal(left, schedules) {
		t.Errorf("failed create left %q", left)
	}
	if got := systemctlState(t, "is-enabled", unit); got != "masked" {
		t.Errorf("systemctl is-enabled %s: %s, want masked, as it was", unit, got)
	}
	select {
	case sig := <-added:
		t.Errorf("an object appeared: %v", sig.Body[0])
	case <-time.After(300 * time.Millisecond):
	}
}
