package realsystemd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// Uids of the polkit tests, with what testdata/50-snapm-test.rules says of
// them.
const (
	uidGranted = 65534 // nobody: allowed on schedules named polkit-granted*
	uidNoRule  = 1     // daemon: no rule, polkit's defaults (no outside an active session)
	uidAuth    = 2     // bin: must authenticate as an admin
)

// gdbusAs calls the daemon with gdbus as uid, allowing interactive
// authorization only when asked; gdbus prints the error's name.
func gdbusAs(t testing.TB, uid int, interactive bool, path dbus.ObjectPath, method string, args ...string) (string, error) {
	t.Helper()
	argv := []string{"gdbus", "call", "--system", "--dest", busName, "--object-path", string(path), "--method", method}
	if interactive {
		argv = append(argv, "--interactive")
	}
	return ns.OutputAs(testCtx(t), uid, append(argv, args...)...)
}

// fingerprint is what a refused call must leave alone: every file under
// the namespace's /etc/systemd/system (with its content or link target),
// and systemd's list of snapm timers that are loaded and not inactive.
func fingerprint(t testing.TB, conn *dbus.Conn) string {
	t.Helper()
	var lines []string
	root := ns.UnitDirPath()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, info.Mode())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:8])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var units [][]any
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := sd.Call("org.freedesktop.systemd1.Manager.ListUnitsByPatterns", 0,
		[]string{"active", "activating", "deactivating", "reloading", "failed"}, []string{"snapm-*.timer"}).Store(&units); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		lines = append(lines, fmt.Sprintf("unit %v %v %v %v", u[0], u[2], u[3], u[4]))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestPolkitAuthorization: with a real polkitd and rules, a non-root
// caller is allowed exactly what the rules grant, the refused calls change
// nothing on disk or in systemd, and root never needs polkit.
func TestPolkitAuthorization(t *testing.T) {
	conn := connect(t)
	granted := create(t, conn, "create", "polkit-granted", "daily")
	other := create(t, conn, "gc", "polkit-other", gcSpec)
	mustCall(t, conn, other, timerIf+".Enable")

	// Allowed by the rule: the whole life of a timer, as nobody.
	for _, method := range []string{"Enable", "Start", "Stop", "Start"} {
		if out, err := gdbusAs(t, uidGranted, false, granted, timerIf+"."+method); err != nil {
			t.Fatalf("%s as nobody on polkit-granted: %v %s", method, err, out)
		}
	}
	if got := systemctlState(t, "is-active", "snapm-create@polkit-granted.timer"); got != "active" {
		t.Errorf("after Start as nobody systemd says %s", got)
	}
	if got := status(t, conn, granted); got != "running" {
		t.Errorf("after Start as nobody the status is %s", got)
	}
	withSchedule(t, "gc", "polkit-granted-2", gcSpec)
	if out, err := gdbusAs(t, uidGranted, false, rootPath, managerIf+".CreateTimer", "gc", "polkit-granted-2", gcSpec); err != nil {
		t.Fatalf("CreateTimer as nobody: %v %s", err, out)
	}
	created := dbus.ObjectPath(rootPath + "/gc/polkit_2dgranted_2d2")
	if status(t, conn, created) != "disabled" {
		t.Error("CreateTimer as nobody: no disabled timer at", created)
	}
	if _, err := gdbusAs(t, uidGranted, false, rootPath, managerIf+".RemoveTimer", string(created)); err != nil {
		t.Errorf("RemoveTimer as nobody of its own timer: %v", err)
	}
	// The one-call creation passes the bus policy and the same rule.
	withSchedule(t, "gc", "polkit-granted-4", gcSpec)
	if out, err := gdbusAs(t, uidGranted, false, rootPath, managerIf+".CreateTimerWithFlags", "gc", "polkit-granted-4", gcSpec, "uint64 3"); err != nil {
		t.Fatalf("CreateTimerWithFlags as nobody: %v %s", err, out)
	}
	created = dbus.ObjectPath(rootPath + "/gc/polkit_2dgranted_2d4")
	if status(t, conn, created) != "running" {
		t.Error("CreateTimerWithFlags(ENABLE|START) as nobody: no running timer at", created)
	}
	if _, err := gdbusAs(t, uidGranted, false, rootPath, managerIf+".RemoveTimer", string(created)); err != nil {
		t.Errorf("RemoveTimer as nobody of its own timer: %v", err)
	}

	// Refused: each call fails with its name and changes nothing.
	before := fingerprint(t, conn)
	for _, tc := range []struct {
		uid         int
		interactive bool
		path        dbus.ObjectPath
		method      string
		args        []string
		want        string
	}{
		{uidGranted, false, other, timerIf + ".Disable", nil, "AccessDenied"},
		{uidGranted, false, other, timerIf + ".SetCalendarSpec", []string{"hourly"}, "AccessDenied"},
		{uidGranted, false, rootPath, managerIf + ".RemoveTimer", []string{string(other)}, "AccessDenied"},
		{uidGranted, false, rootPath, managerIf + ".CreateTimer", []string{"gc", "intruder", gcSpec}, "AccessDenied"},
		{uidGranted, false, rootPath, managerIf + ".CreateTimerWithFlags", []string{"gc", "intruder", gcSpec, "uint64 3"}, "AccessDenied"},
		{uidAuth, false, rootPath, managerIf + ".CreateTimerWithFlags", []string{"create", "intruder", "daily", "uint64 3"}, "InteractiveAuthorizationRequired"},
		{uidNoRule, false, granted, timerIf + ".Stop", nil, "AccessDenied"},
		{uidNoRule, true, granted, timerIf + ".Disable", nil, "AccessDenied"},
		{uidNoRule, false, rootPath, managerIf + ".CreateTimer", []string{"create", "polkit-granted-3", "daily"}, "AccessDenied"},
		{uidAuth, false, granted, timerIf + ".Disable", nil, "InteractiveAuthorizationRequired"},
		{uidAuth, false, rootPath, managerIf + ".CreateTimer", []string{"create", "intruder", "daily"}, "InteractiveAuthorizationRequired"},
		// Allowed to ask, but no agent is there to answer.
		{uidAuth, true, granted, timerIf + ".Disable", nil, "AccessDenied"},
	} {
		out, err := gdbusAs(t, tc.uid, tc.interactive, tc.path, tc.method, tc.args...)
		if err == nil || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error."+tc.want) {
			t.Errorf("%s on %s as uid %d (interactive %t): %v %s, want %s", tc.method, tc.path, tc.uid, tc.interactive, err, out, tc.want)
		}
	}
	if after := fingerprint(t, conn); after != before {
		t.Errorf("refused calls changed the system:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := status(t, conn, granted); got != "running" {
		t.Errorf("refused calls moved polkit-granted to %s", got)
	}
	if got := status(t, conn, other); got != "enabled" {
		t.Errorf("refused calls moved polkit-other to %s", got)
	}
	if err := call(t, conn, rootPath, managerIf+".GetTimer", "gc", "intruder").Err; err == nil {
		t.Error("a refused CreateTimer made a timer")
	}

	// Root needs no rule.
	mustCall(t, conn, other, timerIf+".Disable")
	mustCall(t, conn, granted, timerIf+".Disable")
	journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if !strings.Contains(journal, "call authorized by polkit") || !strings.Contains(journal, `caller_uid=65534`) {
		t.Error("the journal does not show polkit's decisions with the caller's uid")
	}
}
