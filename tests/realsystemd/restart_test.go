package realsystemd

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestSystemdReloadedAndReexecuted: after a daemon-reload and a
// daemon-reexec under the daemon, it still sees outside changes (it
// subscribed again when systemd came back on the bus) and its own
// operations still work.
func TestSystemdReloadedAndReexecuted(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-gc@reexec.timer"
	path := createRunning(t, conn, "gc", "reexec", "daily")
	ch := watch(t, conn, path)
	for _, verb := range []string{"daemon-reload", "daemon-reexec"} {
		inNS(t, "systemctl", verb)
		inNS(t, "systemctl", "stop", unit)
		waitChange(t, ch, path, map[string]any{"Running": false, "Status": "enabled"}, 10*time.Second)
		inNS(t, "systemctl", "start", unit)
		waitChange(t, ch, path, map[string]any{"Running": true, "Status": "running"}, 10*time.Second)
		mustCall(t, conn, path, timerIf+".Stop")
		if got := systemctlState(t, "is-active", unit); got != "inactive" {
			t.Errorf("after %s, Stop left the unit %s", verb, got)
		}
		mustCall(t, conn, path, timerIf+".Start")
		wantStatus(t, conn, path, "running")
	}
	journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if !strings.Contains(journal, "systemd reconnected to the bus, resubscribing") {
		t.Error("the daemon never resubscribed after the daemon-reexec")
	}
}

// TestBusLost: when the system bus goes away the daemon exits non-zero,
// systemd restarts it, and it serves again on the new bus.
func TestBusLost(t *testing.T) {
	restarts := func() int {
		n, err := strconv.Atoi(inNS(t, "systemctl", "show", "--value", "-p", "NRestarts", "snapm-timersd.service"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	connect(t) // activates the daemon if an earlier test left it stopped
	before := restarts()
	inNS(t, "systemctl", "restart", "dbus.service")

	var conn *dbus.Conn
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, err := dbus.Connect(ns.BusAddress(), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
		if err != nil {
			continue
		}
		var owner string
		if c.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil &&
			inNS(t, "systemctl", "is-active", "snapm-timersd.service") == "active" {
			conn = c
			break
		}
		c.Close()
	}
	if conn == nil {
		t.Fatal("the daemon did not come back on the new bus")
	}
	t.Cleanup(func() { conn.Close() })
	// Restart=on-failure restarts only after an unclean exit, so one more
	// restart is the non-zero exit.
	if after := restarts(); after != before+1 {
		t.Errorf("systemd restarted the daemon %d times, want 1", after-before)
	}
	journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if !strings.Contains(journal, `exiting error="bus connection lost"`) {
		t.Errorf("the journal does not show the daemon exiting on bus loss:\n%s", journal)
	}
	path := createRunning(t, conn, "create", "after-bus-loss", "hourly")
	wantStatus(t, conn, path, "running")
}
