// Package bus runs the daemon in-process on a private dbus-daemon against a
// fake systemd1 that fails on command, to show that every fault maps to
// its named error and leaves nothing behind.
package bus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
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
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
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

func (e *env) status(path dbus.ObjectPath) string { return e.prop(path, "Status").(string) }

func (e *env) prop(path dbus.ObjectPath, name string) any {
	v, err := e.conn.Object(busName, path).GetProperty(timerIf + "." + name)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Value()
}

// hangGuard bounds every wait in these tests: long enough never to fail
// a slow but working daemon.
const hangGuard = 10 * time.Second

// waitFor polls cond until it holds, and fails the test after hangGuard.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(hangGuard); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("waited %v for %s", hangGuard, what)
		}
	}
}

func (e *env) waitStatus(path dbus.ObjectPath, want string) {
	e.t.Helper()
	e.waitFor("status "+want, func() bool { return e.status(path) == want })
}

// leftovers lists what the daemon wrote under the unit directory: all but
// the enablement links the fake makes there (e.fake.Enabled tells those).
func (e *env) leftovers() []string {
	var out []string
	err := filepath.Walk(e.unitDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && info.Name() == "timers.target.wants" {
			return filepath.SkipDir
		}
		if p != e.unitDir {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("listing the unit directory: %v", err)
	}
	return out
}

func errName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// failing makes systemd's method fail with errName.
func failing(method, errName string) func(*env, string) {
	return func(e *env, _ string) { e.fake.Fail(method, errName) }
}

// loadedAndFailing also has systemd load the unit first, as a client such
// as `systemctl status` would: a later change of its drop-in then needs a
// daemon-reload.
func loadedAndFailing(method, errName string) func(*env, string) {
	return func(e *env, unit string) {
		e.fake.Load(unit)
		e.fake.Fail(method, errName)
	}
}

// TestFaults: each injected fault gives its named error, the timer's
// status tells the truth, and no drop-in is left behind where the
// operation did not complete.
func TestFaults(t *testing.T) {
	t.Parallel()
	for desc, tc := range map[string]struct {
		// prior are the timer's methods called before the fault is set up.
		prior []string
		setup func(e *env, unit string)
		// method is a Timer method, or RemoveTimer of the timer.
		method     string
		args       []any
		wantErr    string
		wantStatus string
		wantDropIn bool
		// detail is what systemd (or the disk) said, in the message.
		detail string
	}{
		"EnableUnitFiles fails": {
			setup:  failing("EnableUnitFiles", "org.freedesktop.systemd1.UnitMasked"),
			method: "Enable", wantErr: "SystemdError", wantStatus: "disabled", detail: "org.freedesktop.systemd1.UnitMasked"},
		"needed reload fails": {
			setup:  loadedAndFailing("Reload", "org.freedesktop.DBus.Error.NoMemory"),
			method: "Enable", wantErr: "SystemdError", wantStatus: "disabled", detail: "Reload"},
		"drop-in cannot be written": {
			setup: func(e *env, unit string) {
				// A file where the directory goes, in place of the one
				// CreateTimer made.
				if err := os.Remove(filepath.Join(e.unitDir, unit+".d")); err != nil {
					e.t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(e.unitDir, unit+".d"), nil, 0o644); err != nil {
					e.t.Fatal(err)
				}
			},
			method: "Enable", wantErr: "IOError", wantStatus: "disabled", detail: "drop-in"},
		"start job fails": {prior: []string{"Enable"},
			setup:  func(e *env, _ string) { e.fake.JobResult("StartUnit", "failed") },
			method: "Start", wantErr: "JobFailed", wantStatus: "enabled", wantDropIn: true, detail: `result "failed"`},
		"StartUnit refused": {prior: []string{"Enable"},
			setup:  failing("StartUnit", "org.freedesktop.systemd1.UnitMasked"),
			method: "Start", wantErr: "SystemdError", wantStatus: "enabled", wantDropIn: true, detail: "StartUnit"},
		// Enable that cannot read back what systemd made of it undoes itself.
		"GetUnit fails": {
			setup:  failing("GetUnit", "org.freedesktop.DBus.Error.NoMemory"),
			method: "Enable", wantErr: "SystemdError", wantStatus: "disabled", detail: "GetUnit"},
		// A read that fails after Disable still shows what it could see.
		"GetAll fails": {prior: []string{"Enable"},
			setup:  loadedAndFailing("GetAll", "org.freedesktop.DBus.Error.AccessDenied"),
			method: "Disable", wantErr: "SystemdError", wantStatus: "disabled", detail: "GetAll"},
		// Disable that cannot read back the unit file state does not guess.
		// The symlinks tell it for a template instance; a unit file of its
		// own is for systemd to judge.
		"GetUnitFileState fails": {prior: []string{"Enable"},
			setup: func(e *env, unit string) {
				if err := os.WriteFile(filepath.Join(e.unitDir, unit), []byte("[Timer]\nOnCalendar=daily\n"), 0o644); err != nil {
					e.t.Fatal(err)
				}
				failing("GetUnitFileState", "org.freedesktop.DBus.Error.IOError")(e, unit)
			},
			method: "Disable", wantErr: "SystemdError", wantStatus: "invalid", detail: "GetUnitFileState"},
		"stop job fails": {prior: []string{"Enable"},
			setup:  func(e *env, _ string) { e.fake.JobResult("StopUnit", "canceled") },
			method: "Stop", wantErr: "JobFailed", wantStatus: "enabled", wantDropIn: true, detail: `result "canceled"`},
		// Disable removes the drop-in even when systemd fails, so the
		// schedule cannot come back on its own at the next boot.
		"DisableUnitFiles fails": {prior: []string{"Enable"},
			setup:  failing("DisableUnitFiles", "org.freedesktop.DBus.Error.Failed"),
			method: "Disable", wantErr: "SystemdError", wantStatus: "invalid", detail: "DisableUnitFiles"},
		"StopUnit fails on Disable": {prior: []string{"Enable"},
			setup:  failing("StopUnit", "org.freedesktop.DBus.Error.Failed"),
			method: "Disable", wantErr: "SystemdError", wantStatus: "disabled", detail: "StopUnit"},
		// A new schedule is on disk and shown; systemd failing to take it
		// is the caller's error, and the next Enable reloads.
		"reload fails on SetCalendarSpec": {prior: []string{"Enable"},
			setup:  loadedAndFailing("Reload", "org.freedesktop.DBus.Error.NoMemory"),
			method: "SetCalendarSpec", args: []any{"Mon..Fri 06:30"},
			wantErr: "SystemdError", wantStatus: "enabled", wantDropIn: true, detail: "Reload"},
		"GetAll fails on SetCalendarSpec": {prior: []string{"Enable"},
			setup:  loadedAndFailing("GetAll", "org.freedesktop.DBus.Error.AccessDenied"),
			method: "SetCalendarSpec", args: []any{"Mon..Fri 06:30"},
			wantErr: "SystemdError", wantStatus: "enabled", wantDropIn: true, detail: "GetAll"},
		// RemoveTimer of a running timer that systemd will not disable
		// keeps the object, which shows what is left.
		"DisableUnitFiles fails on RemoveTimer": {prior: []string{"Enable", "Start"},
			setup:  failing("DisableUnitFiles", "org.freedesktop.DBus.Error.Failed"),
			method: "RemoveTimer", wantErr: "SystemdError", wantStatus: "invalid", detail: "DisableUnitFiles"},
		"StopUnit fails on RemoveTimer": {prior: []string{"Enable", "Start"},
			setup:  failing("StopUnit", "org.freedesktop.DBus.Error.Failed"),
			method: "RemoveTimer", wantErr: "SystemdError", wantStatus: "invalid", detail: "StopUnit"},
	} {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			e := start(t, 10*time.Second)
			path := e.create("fault")
			unit := "snapm-create@fault.timer"
			for _, m := range tc.prior {
				if err := e.call(path, timerIf+"."+m).Err; err != nil {
					t.Fatal(err)
				}
			}
			tc.setup(e, unit)
			var err error
			if tc.method == "RemoveTimer" {
				err = e.call(rootPath, managerIf+".RemoveTimer", path).Err
			} else {
				err = e.call(path, timerIf+"."+tc.method, tc.args...).Err
			}
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
			spec, hasDropIn, err := dropin.Read(e.unitDir, unit)
			if err != nil && tc.wantErr != "IOError" {
				t.Fatal(err)
			}
			if hasDropIn != tc.wantDropIn {
				t.Errorf("drop-in present = %v; unit dir holds %v", hasDropIn, e.leftovers())
			}
			// What is shown is what is on disk.
			if shown := e.prop(path, "CalendarSpec"); hasDropIn && shown != spec {
				t.Errorf("CalendarSpec %q, the drop-in says %q", shown, spec)
			}
			if tc.method == "Enable" && e.fake.Enabled(unit) {
				t.Error("failed Enable left the unit file enabled")
			}
		})
	}
}

// TestStartupFaults: a daemon that cannot subscribe to systemd's signals
// would serve a view that goes stale, and one that cannot read systemd's
// units would serve a guess; each refuses to start.
func TestStartupFaults(t *testing.T) {
	t.Parallel()
	for method, want := range map[string]string{
		"Subscribe":           "subscribing to systemd",
		"ListUnitsByPatterns": "adopting existing timers: listing loaded timer units",
	} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			addr := testbus.Start(t)
			unitDir := t.TempDir()
			fake, err := fakesystemd.Start(addr, unitDir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fake.Close() })
			if err := dropin.Write(unitDir, "snapm-gc@there.timer", "daily"); err != nil {
				t.Fatal(err)
			}
			fake.Fail(method, "org.freedesktop.DBus.Error.AccessDenied")
			// A daemon that started anyway serves until the hang guard.
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			t.Cleanup(cancel)
			err = daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: t.TempDir(),
				CallTimeout: 10 * time.Second, Log: zaptest.NewLogger(t)})
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "AccessDenied") {
				t.Fatalf("daemon.Run with %s refused: %v, want %q", method, err, want)
			}
		})
	}
}

// TestResyncFaults: a re-read of every timer that systemd fails (the list
// of units after a daemon-reload, the subscription after a reexec) is
// survived; the daemon keeps serving and the next re-read catches up.
func TestResyncFaults(t *testing.T) {
	t.Parallel()
	const unit = "snapm-create@resync.timer"
	setup := func(t *testing.T) (*env, dbus.ObjectPath) {
		e := start(t, 10*time.Second)
		path := e.create("resync")
		for _, m := range []string{"Enable", "Start"} {
			if err := e.call(path, timerIf+"."+m).Err; err != nil {
				t.Fatal(err)
			}
		}
		return e, path
	}
	reload := func(e *env) {
		if err := e.conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call(
			"org.freedesktop.systemd1.Manager.Reload", 0).Err; err != nil {
			e.t.Fatal(err)
		}
	}
	t.Run("ListUnitsByPatterns fails after a reload", func(t *testing.T) {
		t.Parallel()
		e, path := setup(t)
		e.fake.Fail("ListUnitsByPatterns", "org.freedesktop.DBus.Error.NoMemory")
		e.fake.SetActive(unit, false)
		reload(e)
		// Adoption's list, then the resync's.
		e.waitFor("the resync after the reload to list the units", func() bool { return e.fake.Calls("ListUnitsByPatterns") >= 2 })
		if got := e.status(path); got != "running" {
			t.Errorf("status %s after a failed resync, want the last read, running", got)
		}
		e.fake.Heal("ListUnitsByPatterns")
		reload(e)
		e.waitStatus(path, "enabled")
	})
	t.Run("re-Subscribe fails", func(t *testing.T) {
		t.Parallel()
		e, path := setup(t)
		e.fake.Fail("Subscribe", "org.freedesktop.DBus.Error.AccessDenied")
		e.fake.SetActive(unit, false)
		if err := e.fake.Reexec(); err != nil {
			t.Fatal(err)
		}
		// It re-reads everything all the same, and keeps asking.
		e.waitStatus(path, "enabled")
		e.waitFor("Subscribe asked again after the refusal", func() bool { return e.fake.Calls("Subscribe") >= 4 })
		// Once systemd takes it, what changed while unsubscribed shows.
		e.fake.SetActive(unit, true)
		e.fake.Heal("Subscribe")
		e.waitStatus(path, "running")
		e.fake.SetActive(unit, false)
		if err := e.fake.Reexec(); err != nil {
			t.Fatal(err)
		}
		e.waitStatus(path, "enabled")
		if err := e.call(path, timerIf+".Start").Err; err != nil {
			t.Errorf("Start after the failed re-Subscribe: %v", err)
		}
		if got := e.status(path); got != "running" {
			t.Errorf("status %s after Start, want running", got)
		}
	})
}

// TestJobTimeout: a job systemd never finishes ends the call with a
// timeout error at the configured bound, not a hang.
func TestJobTimeout(t *testing.T) {
	t.Parallel()
	e := start(t, 300*time.Millisecond)
	path := e.create("stuck")
	if err := e.call(path, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.fake.JobResult("StartUnit", fakesystemd.Hang)
	// A daemon that waited on would leave the call to the hang guard,
	// which ends it with a context error, not the daemon's Timeout.
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	err := e.conn.Object(busName, path).CallWithContext(ctx, timerIf+".Start", 0).Err
	if got := errName(err); got != "org.freedesktop.DBus.Error.Timeout" {
		t.Fatalf("Start with a stuck job: %q (%v)", got, err)
	}
}

// TestReloadOnlyWhenStaleAndShared: no daemon-reload when systemd loads
// the drop-in fresh; concurrent callers that need one share it.
func TestReloadOnlyWhenStaleAndShared(t *testing.T) {
	t.Parallel()
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
	// The first reload is held until every Enable has read its stale unit
	// and so needs one: then they are concurrent however slow the machine.
	e.fake.HoldReload()
	reads := e.fake.Calls("GetAll")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.call(p, timerIf+".Enable").Err
		}()
	}
	e.waitFor("every Enable to read its unit", func() bool {
		return e.fake.Calls("GetAll") >= reads+n && e.fake.Calls("Reload") >= 1
	})
	e.fake.ReleaseReload()
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
	t.Parallel()
	e := start(t, 10*time.Second)
	path := e.create("guarded")
	before := e.leftovers()
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
	if files := e.leftovers(); !slices.Equal(files, before) {
		t.Errorf("refused calls changed the unit directory from %v to %v", before, files)
	}
}

// TestNextElapseMovesOn: a timer's NextElapse stays in the future; when it
// passes, the property moves on with a PropertiesChanged. No systemd
// involved: the engine computes it for a disabled timer.
func TestNextElapseMovesOn(t *testing.T) {
	t.Parallel()
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
	first := e.prop(path, "NextElapse").(uint64)
	// A tick may fall between the match and the read; its signal carries
	// what the read already saw, and the next one moves on from there.
	deadline := time.After(hangGuard)
	for {
		select {
		case sig := <-ch:
			next := sig.Body[1].(map[string]dbus.Variant)["NextElapse"].Value().(uint64)
			if next <= first {
				continue
			}
			if next > uint64(time.Now().Add(2*time.Second).UnixMicro()) {
				t.Errorf("NextElapse moved from %d to %d, past the next 2 s step", first, next)
			}
			return
		case <-deadline:
			t.Fatalf("NextElapse %d passed without a PropertiesChanged", first)
		}
	}
}

func TestParseCalendar(t *testing.T) {
	t.Parallel()
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
	for desc, tc := range map[string]struct {
		spec string
		n    uint32
		want string
	}{
		"hour out of range":       {spec: "25:00", n: 1, want: "InvalidCalendar"},
		"a section smuggled in":   {spec: "daily\nUnit=evil.service", n: 1, want: "InvalidCalendar"},
		"too many elapses wanted": {spec: "daily", n: 1001, want: "InvalidArgument"},
	} {
		err := e.call(rootPath, managerIf+".ParseCalendar", tc.spec, tc.n).Err
		if errName(err) != errPrefix+tc.want {
			t.Errorf("%s: ParseCalendar(%q, %d): %v, want %s", desc, tc.spec, tc.n, err, tc.want)
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
	t.Parallel()
	e := start(t, time.Minute)
	slow, fast := e.create("slow"), e.create("fast")
	if err := e.call(slow, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.fake.HangUnit("StartUnit", "snapm-create@slow.timer")

	startDone := make(chan error, 1)
	go func() { startDone <- e.call(slow, timerIf+".Start").Err }()
	e.waitFor("the Start to reach systemd", func() bool { return e.fake.Calls("StartUnit") > 0 })
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
	t.Parallel()
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
