package realsystemd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// runProps are the Timer properties that mirror the service's last run.
var runProps = []string{"LastRunResult", "LastRunExitStatus", "LastRunStart", "LastRunEnd", "LastRunInvocation", "Activity"}

// withCommand gives the timer's service a test drop-in that replaces the
// snapm command with argv (snapm is not installed in the namespace).
func withCommand(t *testing.T, typ, name, command string) {
	t.Helper()
	dir := ns.UnitDirPath(fmt.Sprintf("snapm-%s@%s.service.d", typ, name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "[Service]\nExecStart=\nExecStart=" + command + "\n"
	if err := os.WriteFile(filepath.Join(dir, "test.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	inNS(t, "systemctl", "daemon-reload")
}

// systemdRun is what `systemctl show` says of the service's last run, in
// the daemon's units (µs since the epoch, invocation ID in hex).
func systemdRun(t *testing.T, unit string) map[string]any {
	t.Helper()
	out := inNS(t, "systemctl", "show", "--timestamp=us+utc", "-p",
		"Result,ExecMainStatus,ExecMainStartTimestamp,ExecMainExitTimestamp,InvocationID,ActiveState", unit)
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		kv[k] = v
	}
	status, err := strconv.ParseInt(kv["ExecMainStatus"], 10, 32)
	if err != nil {
		t.Fatalf("ExecMainStatus of %s: %v", unit, err)
	}
	activity := "idle"
	if kv["ActiveState"] == "activating" || kv["ActiveState"] == "active" || kv["ActiveState"] == "deactivating" {
		activity = "running"
	}
	return map[string]any{
		"LastRunResult":     kv["Result"],
		"LastRunExitStatus": int32(status),
		"LastRunStart":      showTime(t, kv["ExecMainStartTimestamp"]),
		"LastRunEnd":        showTime(t, kv["ExecMainExitTimestamp"]),
		"LastRunInvocation": kv["InvocationID"],
		"Activity":          activity,
	}
}

// showTime parses systemctl show's --timestamp=us+utc form; "" is none.
func showTime(t *testing.T, s string) uint64 {
	t.Helper()
	if s == "" || s == "n/a" {
		return 0
	}
	ts, err := time.Parse("Mon 2006-01-02 15:04:05.000000 MST", s)
	if err != nil {
		t.Fatalf("parsing systemctl's timestamp %q: %v", s, err)
	}
	return uint64(ts.UnixMicro())
}

func runState(t *testing.T, conn *dbus.Conn, path dbus.ObjectPath) map[string]any {
	t.Helper()
	p := props(t, conn, path)
	out := map[string]any{}
	for _, name := range runProps {
		v, ok := p[name]
		if !ok {
			t.Fatalf("%s has no property %s", path, name)
		}
		out[name] = v.Value()
	}
	return out
}

// activityFlips follows PropertiesChanged on path until Activity went to
// running and back to idle, and returns every Activity value signalled.
// state is the object before the run: it is kept current, and a published
// state that shows a run begun after since (usec) as idle but not ended, a
// false "succeeded", fails the test.
func activityFlips(t *testing.T, ch <-chan *dbus.Signal, path dbus.ObjectPath, state map[string]any, since uint64) []string {
	t.Helper()
	var flips []string
	deadline := time.After(30 * time.Second) // a hang guard, not a latency bound
	for {
		select {
		case sig := <-ch:
			if sig.Path != path || sig.Name != propsIf+".PropertiesChanged" {
				continue
			}
			for k, v := range sig.Body[1].(map[string]dbus.Variant) {
				state[k] = v.Value()
			}
			if state["Activity"] == "idle" && state["LastRunStart"].(uint64) >= since && state["LastRunEnd"] == uint64(0) {
				t.Errorf("published a run that began but shows idle and not ended: %v", state)
			}
			if v, ok := sig.Body[1].(map[string]dbus.Variant)["Activity"]; ok {
				flips = append(flips, v.Value().(string))
				if len(flips) >= 2 && flips[len(flips)-1] == "idle" && flips[len(flips)-2] == "running" {
					return flips
				}
			}
		case <-deadline:
			t.Fatalf("Activity of %s did not go to running and back; signalled: %v", path, flips)
		}
	}
}

// TestRunNow runs each kind of outcome through RunNow and holds the mirror
// to systemctl show of the service.
func TestRunNow(t *testing.T) {
	for name, tc := range map[string]struct {
		command    string
		wantResult string
		wantStatus int32
	}{
		"succeeds":       {command: "/bin/true", wantResult: "success", wantStatus: 0},
		"fails":          {command: "/bin/false", wantResult: "exit-code", wantStatus: 1},
		"takes a while":  {command: "/bin/sleep 2", wantResult: "success", wantStatus: 0},
		"cannot execute": {command: "/usr/bin/no-such-snapm", wantResult: "exit-code", wantStatus: 203},
	} {
		t.Run(name, func(t *testing.T) {
			conn := connect(t)
			timer := "run-" + strings.ReplaceAll(name, " ", "-")
			withCommand(t, "create", timer, tc.command)
			// A running timer keeps its service loaded; systemd forgets
			// an unreferenced service's run as soon as it ends.
			path := createRunning(t, conn, "create", timer, "daily")
			unit := "snapm-create@" + timer + ".service"
			state := runState(t, conn, path)
			if state["LastRunResult"] != "" || state["Activity"] != "idle" || state["LastRunStart"] != uint64(0) {
				t.Fatalf("before any run: %v", state)
			}
			ch := watch(t, conn, path)
			before := usecNow()
			mustCall(t, conn, path, timerIf+".RunNow")
			flips := activityFlips(t, ch, path, state, before)
			got, want := runState(t, conn, path), systemdRun(t, unit)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after the run the timer says\n%v\nsystemctl show says\n%v", got, want)
			}
			if got["LastRunResult"] != tc.wantResult || got["LastRunExitStatus"] != tc.wantStatus {
				t.Errorf("result %v/%v, want %s/%d", got["LastRunResult"], got["LastRunExitStatus"], tc.wantResult, tc.wantStatus)
			}
			if start := got["LastRunStart"].(uint64); start < before || got["LastRunEnd"].(uint64) < start {
				t.Errorf("run started at %d and ended at %d; RunNow was called at %d", start, got["LastRunEnd"], before)
			}
			if len(got["LastRunInvocation"].(string)) != 32 {
				t.Errorf("invocation ID %q is not 128 bits in hex", got["LastRunInvocation"])
			}
			t.Logf("Activity signalled: %v", flips)
		})
	}
}

// TestRunNowBusy: a second RunNow during a run is refused, and the run
// goes on.
func TestRunNowBusy(t *testing.T) {
	conn := connect(t)
	withCommand(t, "gc", "run-busy", "/bin/sleep 3")
	path := create(t, conn, "gc", "run-busy", gcSpec)
	ch := watch(t, conn, path)
	mustCall(t, conn, path, timerIf+".RunNow")
	waitChange(t, ch, path, map[string]any{"Activity": "running"}, 30*time.Second)
	if err := call(t, conn, path, timerIf+".RunNow").Err; errName(err) != "com.redhat.Snapm.Timers.Error.Busy" {
		t.Fatalf("RunNow during a run: %v, want Busy", err)
	}
	waitChange(t, ch, path, map[string]any{"Activity": "idle"}, 30*time.Second)
	if got := runState(t, conn, path); got["LastRunResult"] != "success" {
		t.Errorf("the run after the refused RunNow: %v", got)
	}
}

// TestRunFromOutside: runs the daemon did not start (systemctl start of
// the service, the timer elapsing) are mirrored the same way.
func TestRunFromOutside(t *testing.T) {
	conn := connect(t)
	withCommand(t, "create", "run-outside", "/bin/false")
	path := create(t, conn, "create", "run-outside", "daily")
	ch := watch(t, conn, path)
	ns.Output(testCtx(t), "systemctl", "start", "snapm-create@run-outside.service") // fails, as it should
	waitChange(t, ch, path, map[string]any{"LastRunResult": "exit-code", "Activity": "idle"}, 30*time.Second)

	withCommand(t, "create", "run-elapse", "/bin/true")
	// Without it systemd's default AccuracySec=1min lets the elapses of
	// *:*:0/3 come a minute apart, at a second of its choosing: two of
	// them then fit in the hang guard only by luck.
	preciseElapses(t, "snapm-create@run-elapse.timer")
	elapsing := createRunning(t, conn, "create", "run-elapse", "*:*:0/3")
	ech := watch(t, conn, elapsing)
	var starts []uint64
	deadline := time.After(90 * time.Second) // a hang guard: elapses come every 3 s
	for len(starts) < 2 {
		select {
		case sig := <-ech:
			if sig.Path != elapsing {
				continue
			}
			if v, ok := sig.Body[1].(map[string]dbus.Variant)["LastRunStart"]; ok && v.Value().(uint64) != 0 {
				starts = append(starts, v.Value().(uint64))
			}
		case <-deadline:
			t.Fatalf("the elapsing timer's runs were not mirrored; starts seen: %v", starts)
		}
	}
	if starts[1] <= starts[0] {
		t.Errorf("a later elapse did not move LastRunStart on: %v", starts)
	}
	mustCall(t, conn, elapsing, timerIf+".Disable")
}

// TestRunNowUnprivileged: uid 65534 reads the last run but cannot run it.
func TestRunNowUnprivileged(t *testing.T) {
	conn := connect(t)
	withCommand(t, "create", "run-guarded", "/bin/true")
	path := create(t, conn, "create", "run-guarded", "daily")
	dest := []string{"gdbus", "call", "--system", "--dest", busName, "--object-path", string(path)}
	for _, prop := range runProps {
		if _, err := ns.OutputAs(testCtx(t), 65534, append(dest, "--method", propsIf+".Get", timerIf, prop)...); err != nil {
			t.Errorf("reading %s as nobody: %v", prop, err)
		}
	}
	_, err := ns.OutputAs(testCtx(t), 65534, append(dest, "--method", timerIf+".RunNow")...)
	if err == nil || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.AccessDenied") {
		t.Errorf("RunNow as nobody: %v, want AccessDenied", err)
	}
	if got := inNS(t, "systemctl", "show", "-P", "InvocationID", "snapm-create@run-guarded.service"); got != "" {
		t.Errorf("a refused RunNow ran the service (invocation %s)", got)
	}
}

// TestRunSurvivesRestart: the daemon restarted in the middle of a run
// reports it correctly once it ends.
func TestRunSurvivesRestart(t *testing.T) {
	conn := connect(t)
	withCommand(t, "create", "run-restart", "/bin/sh -c 'sleep 3; exit 7'")
	path := createRunning(t, conn, "create", "run-restart", "daily")
	ch := watch(t, conn, path)
	mustCall(t, conn, path, timerIf+".RunNow")
	waitChange(t, ch, path, map[string]any{"Activity": "running"}, 30*time.Second)
	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	conn = connect(t)
	if got := runState(t, conn, path); got["Activity"] != "running" {
		t.Errorf("right after the restart the run shows as %v", got)
	}
	ch = watch(t, conn, path)
	waitChange(t, ch, path, map[string]any{"Activity": "idle"}, 30*time.Second)
	got, want := runState(t, conn, path), systemdRun(t, "snapm-create@run-restart.service")
	if fmt.Sprint(got) != fmt.Sprint(want) || got["LastRunExitStatus"] != int32(7) {
		t.Errorf("after the run the timer says\n%v\nsystemctl show says\n%v", got, want)
	}
}
