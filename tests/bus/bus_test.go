// Package bus runs the daemon in-process on a private dbus-daemon against a
// fake systemd1 that fails on command, to show that every fault maps to
// its named error and leaves nothing behind.
package bus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/tests/fakesystemd"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

const (
	busName   = "com.redhat.Snapm.Timers"
	rootPath  = dbus.ObjectPath("/com/redhat/Snapm/Timers")
	managerIf = "com.redhat.Snapm.Timers.Manager"
	timerIf   = "com.redhat.Snapm.Timers.Timer"
	errPrefix = "com.redhat.Snapm.Timers.Error."
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	t       *testing.T
	fake    *fakesystemd.Fake
	conn    *dbus.Conn
	unitDir string
	addr    string
	// stop stops the daemon and returns what daemon.Run did.
	stop func() error
}

// start runs a private bus, the fake systemd and the daemon for one test.
func start(t *testing.T, callTimeout time.Duration) *env {
	return startIn(t, callTimeout, t.TempDir(), t.TempDir())
}

// startIn is start on the given unit and state directories.
func startIn(t *testing.T, callTimeout time.Duration, unitDir, stateDir string) *env {
	addr := testbus.Start(t)
	fake, err := fakesystemd.Start(addr, unitDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: stateDir,
			CallTimeout: callTimeout, Log: zaptest.NewLogger(t)})
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("daemon.Run: %v", err)
		}
	})
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	waitForName(t, conn)
	return &env{t: t, fake: fake, conn: conn, unitDir: unitDir, addr: addr, stop: stop}
}

func waitForName(t *testing.T, conn *dbus.Conn) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil {
			return
		}
	}
	t.Fatal("the daemon did not claim its name")
}

func (e *env) call(path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return e.conn.Object(busName, path).Call(method, 0, args...)
}

func (e *env) create(name string) dbus.ObjectPath {
	var path dbus.ObjectPath
	if err := e.call(rootPath, managerIf+".CreateTimer", "create", name, "hourly").Store(&path); err != nil {
		e.t.Fatalf("CreateTimer: %v", err)
	}
	return path
}

func (e *env) status(path dbus.ObjectPath) string {
	v, err := e.conn.Object(busName, path).GetProperty(timerIf + ".Status")
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Value().(string)
}

func (e *env) leftovers() []string {
	var out []string
	filepath.Walk(e.unitDir, func(p string, info os.FileInfo, err error) error {
		if p != e.unitDir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func errName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// TestFaults: each injected fault gives its named error, the timer's
// status tells the truth, and no drop-in is left behind where the
// operation did not complete.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		setup      func(e *env, unit string)
		method     string
		wantErr    string
		wantStatus string
		wantFiles  bool
		detail     string
	}{
		{"EnableUnitFiles fails", func(e *env, _ string) { e.fake.Fail("EnableUnitFiles", "org.freedesktop.systemd1.UnitMasked") },
			"Enable", "SystemdError", "disabled", false, "org.freedesktop.systemd1.UnitMasked"},
		{"needed reload fails", func(e *env, unit string) {
			e.fake.Load(unit) // loaded before the drop-in existed: systemd's copy is stale
			e.fake.Fail("Reload", "org.freedesktop.DBus.Error.NoMemory")
		}, "Enable", "SystemdError", "disabled", false, "Reload"},
		{"drop-in cannot be written", func(e *env, unit string) {
			os.WriteFile(filepath.Join(e.unitDir, unit+".d"), nil, 0o644) // a file where the directory goes
		}, "Enable", "IOError", "disabled", true, "drop-in"},
		{"start job fails", func(e *env, _ string) { e.fake.JobResult("StartUnit", "failed") },
			"Start", "JobFailed", "enabled", true, `result "failed"`},
		{"StartUnit refused", func(e *env, _ string) { e.fake.Fail("StartUnit", "org.freedesktop.systemd1.UnitMasked") },
			"Start", "SystemdError", "enabled", true, "StartUnit"},
		// Enable that cannot read back what systemd made of it undoes itself.
		{"GetUnit fails", func(e *env, _ string) { e.fake.Fail("GetUnit", "org.freedesktop.DBus.Error.NoMemory") },
			"Enable", "SystemdError", "disabled", false, "GetUnit"},
		// A read that fails after Disable still shows what it could see.
		{"GetAll fails", func(e *env, unit string) {
			e.fake.Load(unit)
			e.fake.Fail("GetAll", "org.freedesktop.DBus.Error.AccessDenied")
		}, "Disable", "SystemdError", "disabled", false, "GetAll"},
		// Disable that cannot read back the unit file state does not guess.
		{"GetUnitFileState fails", func(e *env, _ string) { e.fake.Fail("GetUnitFileState", "org.freedesktop.DBus.Error.IOError") },
			"Disable", "SystemdError", "invalid", false, "GetUnitFileState"},
		{"stop job fails", func(e *env, _ string) { e.fake.JobResult("StopUnit", "canceled") },
			"Stop", "JobFailed", "enabled", true, `result "canceled"`},
		// Disable removes the drop-in even when systemd fails, so the
		// schedule cannot come back on its own at the next boot.
		{"DisableUnitFiles fails", func(e *env, _ string) { e.fake.Fail("DisableUnitFiles", "org.freedesktop.DBus.Error.Failed") },
			"Disable", "SystemdError", "invalid", false, "DisableUnitFiles"},
		{"StopUnit fails on Disable", func(e *env, _ string) { e.fake.Fail("StopUnit", "org.freedesktop.DBus.Error.Failed") },
			"Disable", "SystemdError", "disabled", false, "StopUnit"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e := start(t, 10*time.Second)
			path := e.create("fault")
			unit := "snapm-create@fault.timer"
			if tc.method != "Enable" {
				if err := e.call(path, timerIf+".Enable").Err; err != nil {
					t.Fatal(err)
				}
			}
			tc.setup(e, unit)
			err := e.call(path, timerIf+"."+tc.method).Err
			if got := errName(err); got != errPrefix+tc.wantErr {
				t.Fatalf("%s: got %q (%v), want %s", tc.method, got, err, tc.wantErr)
			}
			// The message names the timer, and what systemd said.
			for _, want := range []string{unit, tc.detail} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error message %q does not mention %q", err, want)
				}
			}
			if got := e.status(path); got != tc.wantStatus {
				t.Errorf("status after failed %s: %s, want %s", tc.method, got, tc.wantStatus)
			}
			_, statErr := os.Stat(dropin.Path(e.unitDir, unit))
			if hasDropIn := statErr == nil; hasDropIn != (tc.wantFiles && tc.wantErr != "IOError") {
				t.Errorf("drop-in present = %v; unit dir holds %v", hasDropIn, e.leftovers())
			}
			if tc.method == "Enable" && e.fake.Enabled(unit) {
				t.Error("failed Enable left the unit file enabled")
			}
		})
	}
}

// TestJobTimeout: a job systemd never finishes ends the call with a
// timeout error at the configured bound, not a hang.
func TestJobTimeout(t *testing.T) {
	e := start(t, 300*time.Millisecond)
	path := e.create("stuck")
	if err := e.call(path, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.fake.JobResult("StartUnit", fakesystemd.Hang)
	began := time.Now()
	err := e.call(path, timerIf+".Start").Err
	if got := errName(err); got != "org.freedesktop.DBus.Error.Timeout" {
		t.Fatalf("Start with a stuck job: %q (%v)", got, err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Start took %v with a 300ms bound", took)
	}
}

// TestReloadOnlyWhenStaleAndShared: no daemon-reload when systemd loads
// the drop-in fresh; concurrent callers that need one share it.
func TestReloadOnlyWhenStaleAndShared(t *testing.T) {
	e := start(t, 10*time.Second)
	path := e.create("fresh")
	if err := e.call(path, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("Reload"); n != 0 {
		t.Errorf("Enable of a fresh unit issued %d daemon-reloads", n)
	}

	const n = 16
	var paths []dbus.ObjectPath
	for i := 0; i < n; i++ {
		name := "stale" + string(rune('a'+i))
		paths = append(paths, e.create(name))
		e.fake.Load("snapm-create@" + name + ".timer")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.call(p, timerIf+".Enable").Err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Enable %d: %v", i, err)
		}
	}
	reloads := e.fake.Calls("Reload")
	t.Logf("%d concurrent enables of stale units: %d daemon-reloads", n, reloads)
	if reloads < 1 || reloads >= n {
		t.Errorf("%d daemon-reloads for %d concurrent stale enables, want at least 1 and fewer than %d", reloads, n, n)
	}
	for _, p := range paths {
		if s := e.status(p); s != "enabled" {
			t.Errorf("%s: %s", p, s)
		}
	}
}

// TestDaemonRefusesNonRoot: with a bus policy that lets anyone call and no
// polkit on the bus, the daemon fails closed: non-root callers are refused.
func TestDaemonRefusesNonRoot(t *testing.T) {
	e := start(t, 10*time.Second)
	path := e.create("guarded")
	for _, args := range [][]string{
		{"--object-path", string(path), "--method", timerIf + ".Enable"},
		{"--object-path", string(rootPath), "--method", managerIf + ".CreateTimer", "gc", "x", "daily"},
	} {
		out, err := runAs(65534, append([]string{"gdbus", "call", "--address", e.addr, "--dest", busName}, args...)...)
		if err == nil || !contains(out, "org.freedesktop.DBus.Error.AccessDenied") {
			t.Errorf("%s as uid 65534: %v %s", args[3], err, out)
		}
	}
	if got := e.status(path); got != "disabled" {
		t.Errorf("refused Enable changed status to %s", got)
	}
	if files := e.leftovers(); len(files) != 0 {
		t.Errorf("refused calls wrote %v", files)
	}
}

// TestNextElapseMovesOn: a timer's NextElapse stays in the future; when it
// passes, the property moves on with a PropertiesChanged. No systemd
// involved: the engine computes it for a disabled timer.
func TestNextElapseMovesOn(t *testing.T) {
	e := start(t, 10*time.Second)
	var path dbus.ObjectPath
	if err := e.call(rootPath, managerIf+".CreateTimer", "gc", "ticking", "*:*:0/2").Store(&path); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.AddMatchSignal(dbus.WithMatchObjectPath(path), dbus.WithMatchMember("PropertiesChanged")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 10)
	e.conn.Signal(ch)
	first, err := e.conn.Object(busName, path).GetProperty(timerIf + ".NextElapse")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case sig := <-ch:
		next := sig.Body[1].(map[string]dbus.Variant)["NextElapse"].Value().(uint64)
		if next <= first.Value().(uint64) || next > uint64(time.Now().Add(3*time.Second).UnixMicro()) {
			t.Errorf("NextElapse moved from %v to %d", first, next)
		}
	case <-time.After(4 * time.Second):
		t.Fatalf("NextElapse %v passed without a PropertiesChanged", first)
	}
}

func TestParseCalendar(t *testing.T) {
	e := start(t, 10*time.Second)
	var normalized string
	var next []uint64
	if err := e.call(rootPath, managerIf+".ParseCalendar", "Sat,Sun 08:05:40 UTC", uint32(3)).Store(&normalized, &next); err != nil {
		t.Fatal(err)
	}
	if normalized != "Sat,Sun *-*-* 08:05:40 UTC" || len(next) != 3 || next[0] <= uint64(time.Now().UnixMicro()) {
		t.Errorf("ParseCalendar = %q %v", normalized, next)
	}
	for i := 1; i < len(next); i++ {
		if d := time.Duration(next[i]-next[i-1]) * time.Microsecond; d != 24*time.Hour && d != 6*24*time.Hour {
			t.Errorf("elapses %d and %d are %v apart", i-1, i, d)
		}
	}
	if err := e.call(rootPath, managerIf+".ParseCalendar", "2024-02-30", uint32(5)).Store(&normalized, &next); err != nil || len(next) != 0 {
		t.Errorf("a valid expression that never elapses: %q %v %v", normalized, next, err)
	}
	for _, tc := range []struct {
		spec string
		n    uint32
		want string
	}{
		{"25:00", 1, "InvalidCalendar"},
		{"daily\nUnit=evil.service", 1, "InvalidCalendar"},
		{"daily", 1001, "InvalidArgument"},
	} {
		err := e.call(rootPath, managerIf+".ParseCalendar", tc.spec, tc.n).Err
		if errName(err) != errPrefix+tc.want {
			t.Errorf("ParseCalendar(%q, %d): %v, want %s", tc.spec, tc.n, err, tc.want)
		}
	}
	err := e.call(rootPath, managerIf+".ParseCalendar", "25:00", uint32(1)).Err
	if !strings.Contains(err.Error(), "hour 25 out of range 0..23") {
		t.Errorf("ParseCalendar(25:00) says %q, want the engine's message", err)
	}
}

// TestSerializedPerTimerParallelAcross: while a job of one timer hangs,
// another timer is served; a second call on the hanging timer waits for
// the first to finish.
func TestSerializedPerTimerParallelAcross(t *testing.T) {
	e := start(t, time.Minute)
	slow, fast := e.create("slow"), e.create("fast")
	if err := e.call(slow, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.fake.HangUnit("StartUnit", "snapm-create@slow.timer")

	startDone := make(chan error, 1)
	go func() { startDone <- e.call(slow, timerIf+".Start").Err }()
	for e.fake.Calls("StartUnit") == 0 {
		time.Sleep(time.Millisecond)
	}
	disableDone := make(chan error, 1)
	go func() { disableDone <- e.call(slow, timerIf+".Disable").Err }()

	for _, m := range []string{"Enable", "Start", "Stop", "Disable"} {
		if err := e.call(fast, timerIf+"."+m).Err; err != nil {
			t.Fatalf("%s on another timer: %v", m, err)
		}
	}
	select {
	case err := <-startDone:
		t.Fatalf("the hanging Start returned (%v) before another timer's calls were all served", err)
	case err := <-disableDone:
		t.Fatalf("Disable on the busy timer returned (%v) while its Start was still running", err)
	default:
	}
	// Only the other timer's Stop and Disable reached systemd: the queued
	// Disable did not run beside the Start.
	if n := e.fake.Calls("StopUnit"); n != 2 {
		t.Errorf("%d StopUnit calls while the Start hung, want the other timer's 2", n)
	}
	e.fake.Release("StartUnit", "snapm-create@slow.timer")
	if err := <-startDone; err != nil {
		t.Errorf("released Start: %v", err)
	}
	if err := <-disableDone; err != nil {
		t.Errorf("Disable after the hanging Start: %v", err)
	}
	if s := e.status(slow); s != "disabled" {
		t.Errorf("status %s after Disable", s)
	}
}

// TestCreateAdoptsTimerConfiguredOnDisk: a timer the Python snapm set up
// after the daemon started is taken over as it is, and CreateTimer says
// it exists rather than overwrite it.
func TestCreateAdoptsTimerConfiguredOnDisk(t *testing.T) {
	e := start(t, 10*time.Second)
	if err := dropin.Write(e.unitDir, "snapm-gc@legacy.timer", "weekly"); err != nil {
		t.Fatal(err)
	}
	err := e.call(rootPath, managerIf+".CreateTimer", "gc", "legacy", "hourly").Err
	if errName(err) != errPrefix+"TimerExists" {
		t.Fatalf("CreateTimer over a drop-in on disk: %v", err)
	}
	var path dbus.ObjectPath
	if err := e.call(rootPath, managerIf+".GetTimer", "gc", "legacy").Store(&path); err != nil {
		t.Fatal(err)
	}
	spec, err := e.conn.Object(busName, path).GetProperty(timerIf + ".CalendarSpec")
	if err != nil || spec.Value() != "weekly" {
		t.Errorf("adopted CalendarSpec %v, %v", spec, err)
	}
	if got, _, _ := dropin.Read(e.unitDir, "snapm-gc@legacy.timer"); got != "weekly" {
		t.Errorf("the drop-in on disk now says %q", got)
	}
}

// TestSubscribeRefused: a daemon that cannot subscribe to systemd's
// signals would serve a view that goes stale; it refuses to start.
func TestSubscribeRefused(t *testing.T) {
	addr := testbus.Start(t)
	fake, err := fakesystemd.Start(addr, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.Fail("Subscribe", "org.freedesktop.DBus.Error.AccessDenied")
	err = daemon.Run(context.Background(), daemon.Config{BusAddress: addr, UnitDir: t.TempDir(), StateDir: t.TempDir(),
		CallTimeout: 10 * time.Second, Log: zaptest.NewLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "subscribing to systemd") {
		t.Fatalf("daemon.Run with Subscribe refused: %v", err)
	}
}
