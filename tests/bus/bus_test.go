// Package bus runs the daemon in-process on a private dbus-daemon against a
// fake systemd1 that fails on command, to show that every fault maps to
// its named error and leaves nothing behind.
package bus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/schedule"
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
	// schedDir is snapm's schedule directory.
	schedDir string
	addr     string
	// stop stops the daemon and returns what daemon.Run did.
	stop func() error
}

// start runs a private bus, the fake systemd and the daemon for one test.
func start(t *testing.T, callTimeout time.Duration) *env {
	return startIn(t, callTimeout, t.TempDir(), t.TempDir(), t.TempDir())
}

// startIn is start on the given unit, state and schedule directories.
func startIn(t *testing.T, callTimeout time.Duration, unitDir, stateDir, schedDir string) *env {
	addr := testbus.Start(t)
	fake, err := fakesystemd.Start(addr, unitDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: stateDir, ScheduleDir: schedDir,
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
	return &env{t: t, fake: fake, conn: conn, unitDir: unitDir, schedDir: schedDir, addr: addr, stop: stop}
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

// schedule writes the schedule file of name, as `snapm schedule create`
// would with calendar spec, one source and the ALL policy.
func (e *env) schedule(name, spec string) {
	e.t.Helper()
	s, err := schedule.New(name, []string{"/"}, spec, schedule.Options{"policy_type": "all"})
	if err == nil {
		err = schedule.Write(e.schedDir, s)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// create makes the create timer of a new hourly schedule name: the file
// brings both timers, and CreateTimer takes the create one over once the
// daemon shows them (no race with its watch of the file).
func (e *env) create(name string) dbus.ObjectPath {
	e.t.Helper()
	e.schedule(name, "hourly")
	e.waitFor("the timers of schedule "+name, func() bool {
		return e.call(rootPath, managerIf+".GetTimer", "create", name).Err == nil && e.call(rootPath, managerIf+".GetTimer", "gc", name).Err == nil
	})
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
