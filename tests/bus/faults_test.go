// Tests of the faults the fake systemd injects: each call's named error and
// what it leaves, a start that must refuse, resyncs that fail, and a job
// that never ends.

package bus

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap/zaptest"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/tests/fakesystemd"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

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
		// A mask set between the daemon's look and systemd's refusal.
		"EnableUnitFiles fails": {
			setup:  failing("EnableUnitFiles", "org.freedesktop.systemd1.UnitMasked"),
			method: "Enable", wantErr: "Masked", wantStatus: "disabled", detail: "org.freedesktop.systemd1.UnitMasked"},
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
			method: "Start", wantErr: "Masked", wantStatus: "enabled", wantDropIn: true, detail: "StartUnit"},
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
		// systemd re-executing answers the Reload with NoReply, after the
		// file, drop-in and record changed: nothing is rolled back, and
		// what is shown is all of them.
		"reload answers NoReply on SetCalendarSpec": {prior: []string{"Enable"},
			setup:  loadedAndFailing("Reload", "org.freedesktop.DBus.Error.NoReply"),
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
			shown := e.prop(path, "CalendarSpec")
			if hasDropIn && shown != spec {
				t.Errorf("CalendarSpec %q, the drop-in says %q", shown, spec)
			}
			if s, err := schedule.Read(e.schedDir, "fault"); err == nil && tc.method != "RemoveTimer" && s.CalendarSpec != shown {
				t.Errorf("CalendarSpec %q, the schedule file says %q", shown, s.CalendarSpec)
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
			err = daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: t.TempDir(), ScheduleDir: t.TempDir(),
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
