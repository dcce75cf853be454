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
	path := createRunning(t, conn, "gc", "reexec", gcSpec)
	ch := watch(t, conn, path)
	for _, verb := range []string{"daemon-reload", "daemon-reexec"} {
		inNS(t, "systemctl", verb)
		inNS(t, "systemctl", "stop", unit)
		waitChange(t, ch, path, map[string]any{"Running": false, "Status": "enabled"}, hangGuard)
		inNS(t, "systemctl", "start", unit)
		waitChange(t, ch, path, map[string]any{"Running": true, "Status": "running"}, hangGuard)
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

// TestBusLost: when the system bus goes away the daemon exits 1 (as
// systemd tells it), systemd restarts it, and it serves again on the new
// bus.
func TestBusLost(t *testing.T) {
	show := func(prop string) string {
		return inNS(t, "systemctl", "show", "--value", "-p", prop, "snapm-timersd.service")
	}
	restarts := func() int {
		n, err := strconv.Atoi(show("NRestarts"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	connect(t) // activates the daemon if an earlier test left it stopped
	// Long enough between exit and restart to read systemd's own account
	// of the exit, which the restart resets.
	runDaemon(t, "[Service]\nRestartSec=5s\n")
	t.Cleanup(func() { runDaemon(t, "") })
	before := restarts()
	inNS(t, "systemctl", "restart", "dbus.service")
	for deadline := time.Now().Add(30 * time.Second); show("SubState") != "auto-restart"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not exit for a restart; it is %s", show("SubState"))
		}
	}
	// CLD_EXITED (1) with status 1: systemd's "status=1/FAILURE".
	if code, status := show("ExecMainCode"), show("ExecMainStatus"); code != "1" || status != "1" {
		t.Errorf("the daemon ended with code %s, status %s; want exited (1) with status 1", code, status)
	}

	var conn *dbus.Conn
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, err := dbus.Connect(ns.BusAddress(), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
		if err != nil {
			continue
		}
		var owner string
		if c.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil &&
			show("ActiveState") == "active" {
			conn = c
			break
		}
		c.Close()
	}
	if conn == nil {
		t.Fatal("the daemon did not come back on the new bus")
	}
	t.Cleanup(func() { conn.Close() })
	if after := restarts(); after != before+1 {
		t.Errorf("systemd restarted the daemon %d times, want 1", after-before)
	}
	path := createRunning(t, conn, "create", "after-bus-loss", "hourly")
	wantStatus(t, conn, path, "running")
}
