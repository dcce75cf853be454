package realsystemd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/systemd"
	"github.com/snapm/snapm-timersd/tests/nstest"
)

// Forged signals come from uid 65534, as any local user can send them: the
// system bus lets everyone send a signal, and a unicast one reaches the
// daemon whatever its match rules say.
const nobody = 65534

const (
	sdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	sdManager = "org.freedesktop.systemd1.Manager"
)

// forge sends msgs, as signals, from a connection of uid 65534 inside the
// namespace, and returns once the bus has passed every one on.
func forge(t testing.TB, msgs ...*dbus.Message) {
	t.Helper()
	tool := nstest.Tool(t, ns, "./tests/forge", "snapm-forge")
	var in bytes.Buffer
	for _, m := range msgs {
		if err := m.EncodeTo(&in, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
	}
	cmd := ns.CommandAs(testCtx(t), nobody, tool)
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(len(msgs)) {
		t.Fatalf("forging %d signals as uid %d: %v: %s", len(msgs), nobody, err, out)
	}
}

// signalTo is a signal for dest; its sender is whoever sends it.
func signalTo(dest string, path dbus.ObjectPath, iface, member string, body ...any) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeSignal, Body: body, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(dest), dbus.FieldPath: dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface), dbus.FieldMember: dbus.MakeVariant(member),
		dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(body...))}}
}

// daemonName is the daemon's unique name, where unicast signals go.
func daemonName(t testing.TB, conn *dbus.Conn) string {
	t.Helper()
	var name string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

type calendarEntry struct {
	Base string
	Spec string
	Next uint64
}

// TestForgedPropertiesChanged: systemd's PropertiesChanged, forged by an
// unprivileged user, changes nothing the daemon publishes.
func TestForgedPropertiesChanged(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@forgedprops.timer"
	path := createRunning(t, conn, "create", "forgedprops", "yearly")
	before := props(t, conn, path)
	changes := watch(t, conn, path)
	year2100 := uint64(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	daemon := daemonName(t, conn)
	forge(t,
		signalTo(daemon, systemd.UnitPath(unit), propsIf, "PropertiesChanged", "org.freedesktop.systemd1.Timer",
			map[string]dbus.Variant{
				"TimersCalendar":         dbus.MakeVariant([]calendarEntry{{"OnCalendar", "\x1b]0;owned\x07*-*-* 00:00:00", year2100}}),
				"NextElapseUSecRealtime": dbus.MakeVariant(year2100),
				"LastTriggerUSec":        dbus.MakeVariant(year2100),
			}, []string{}),
		signalTo(daemon, systemd.UnitPath(unit), propsIf, "PropertiesChanged", "org.freedesktop.systemd1.Unit",
			map[string]dbus.Variant{"ActiveState": dbus.MakeVariant("failed"), "SubState": dbus.MakeVariant("failed")}, []string{}))
	// systemd's JobRemoved for this Start reaches the daemon after the
	// forged signals, and the daemon handles signals in order.
	mustCall(t, conn, path, timerIf+".Start")
	after := props(t, conn, path)
	deadline := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case sig := <-changes:
			for name, v := range sig.Body[1].(map[string]dbus.Variant) {
				if v.Value() != before[name].Value() {
					t.Errorf("published %s = %#v after forged signals (was %#v)", name, v.Value(), before[name].Value())
				}
			}
		case <-deadline:
			done = true
		}
	}
	for name, v := range before {
		if after[name].Value() != v.Value() {
			t.Errorf("%s = %#v after forged signals, was %#v", name, after[name].Value(), v.Value())
		}
	}
	if got, want := after["NextElapse"].Value(), unitProp(t, conn, unit, "org.freedesktop.systemd1.Timer", "NextElapseUSecRealtime").Value(); got != want {
		t.Errorf("NextElapse = %v, systemd says %v", got, want)
	}
}

// TestForgedJobRemoved: a JobRemoved forged for the job a root Start
// waits for does not end the wait; systemd's does.
func TestForgedJobRemoved(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@forgedjob.timer"
	path := create(t, conn, "create", "forgedjob", "yearly")
	mustCall(t, conn, path, timerIf+".Enable")
	// The timer's start job waits while a oneshot ordered before it runs.
	const slow = "snapm-forge-slow.service"
	inNS(t, "sh", "-c", "printf '[Unit]\\nBefore="+unit+"\\n[Service]\\nType=oneshot\\nExecStart=/bin/sleep 4\\n' > /run/systemd/system/"+
		slow+" && systemctl daemon-reload")
	t.Cleanup(func() {
		inNS(t, "sh", "-c", "systemctl stop "+slow+"; rm /run/systemd/system/"+slow+" && systemctl daemon-reload")
	})
	inNS(t, "systemctl", "start", "--no-block", slow)
	started := make(chan error, 1)
	go func() { started <- call(t, conn, path, timerIf+".Start").Err }()

	var id uint32
	var job dbus.ObjectPath
	for deadline := time.Now().Add(10 * time.Second); job == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Start's job never showed in ListJobs")
		}
		var jobs []struct {
			ID                uint32
			Unit, Type, State string
			JobPath, UnitPath dbus.ObjectPath
		}
		if err := conn.Object("org.freedesktop.systemd1", sdPath).Call(sdManager+".ListJobs", 0).Store(&jobs); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Unit == unit {
				id, job = j.ID, j.JobPath
			}
		}
	}
	forge(t, signalTo(daemonName(t, conn), sdPath, sdManager, "JobRemoved", id, job, unit, "done"))
	select {
	case err := <-started:
		if state := systemctlState(t, "is-active", unit); err != nil || state != "active" {
			t.Errorf("Start returned %v with the timer %s: a forged JobRemoved ended the wait", err, state)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return")
	}
}

// memKiB reads a field of the daemon's /proc/PID/status, in KiB.
func memKiB(t testing.TB, pid, field string) int {
	t.Helper()
	for _, line := range strings.Split(inNS(t, "cat", "/proc/"+pid+"/status"), "\n") {
		if value, ok := strings.CutPrefix(line, field+":"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(value), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatalf("no %s in /proc/%s/status", field, pid)
	return 0
}

// TestForgedSignalFlood: 40,000 forged signals of every kind systemd
// sends, most of them NameOwnerChanged, cost the daemon little memory and
// leave root's calls right after them working. How long those calls took
// is printed (and in `make test`'s summary), not judged: it is a time on a
// shared machine (0.2-0.9 s quiet, 1.7 s once at load average 11); the bound
// is a hang guard.
func TestForgedSignalFlood(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-gc@flood.timer"
	path := createRunning(t, conn, "gc", "flood", gcSpec)
	daemon := daemonName(t, conn)
	pid := inNS(t, "systemctl", "show", "--value", "-p", "MainPID", "snapm-timersd.service")
	// Peak RSS from here on (proc(5), clear_refs).
	inNS(t, "sh", "-c", "echo 5 > /proc/"+pid+"/clear_refs")
	rssBefore := memKiB(t, pid, "VmRSS")

	const n = 40000
	msgs := make([]*dbus.Message, 0, n)
	for i := range n {
		switch i % 8 {
		case 0:
			msgs = append(msgs, signalTo(daemon, systemd.UnitPath(unit), propsIf, "PropertiesChanged", "org.freedesktop.systemd1.Unit",
				map[string]dbus.Variant{"ActiveState": dbus.MakeVariant("failed")}, []string{}))
		case 1:
			msgs = append(msgs, signalTo(daemon, sdPath, sdManager, "JobRemoved", uint32(i),
				dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", i)), unit, "done"))
		case 2:
			msgs = append(msgs, signalTo(daemon, sdPath, sdManager, "UnitFilesChanged"))
		case 3:
			msgs = append(msgs, signalTo(daemon, sdPath, sdManager, "Reloading", false))
		default:
			msgs = append(msgs, signalTo(daemon, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
				"org.freedesktop.systemd1", ":1.1", fmt.Sprintf(":1.%d", 100000+i)))
		}
	}
	forge(t, msgs...)
	start := time.Now()
	mustCall(t, conn, path, timerIf+".Stop")
	mustCall(t, conn, path, timerIf+".Start")
	took := time.Since(start)
	growth := memKiB(t, pid, "VmHWM") - rssBefore
	t.Logf("after %d forged signals: root's Stop+Start took %v; the daemon's peak RSS grew by %d KiB (from %d KiB)",
		n, took.Round(time.Millisecond), growth, rssBefore)
	if growth > 32<<10 {
		t.Errorf("the daemon's RSS grew by %d KiB, bound is 32 MiB", growth)
	}
	testSummary(t, fmt.Sprintf("TestForgedSignalFlood: root's Stop+Start right after %d forged signals took %v; peak RSS +%d KiB",
		n, took.Round(time.Millisecond), growth))
	if took > 10*time.Second {
		t.Errorf("root's Stop+Start took %v after the flood, hang guard is 10 s", took)
	}
	if now := inNS(t, "systemctl", "show", "--value", "-p", "MainPID", "snapm-timersd.service"); now != pid {
		t.Errorf("the daemon changed from PID %s to %s", pid, now)
	}
	wantStatus(t, conn, path, "running")
}
