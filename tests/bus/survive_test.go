package bus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// TestAdoptionSurvivesBadFiles: bad drop-ins and state records are logged
// and survived: the daemon starts, each bad drop-in's timer shows invalid
// (and can be mended), a bad record is skipped, and a record whose drop-in
// changed while the daemon was down is rewritten.
func TestAdoptionSurvivesBadFiles(t *testing.T) {
	unitDir, stateDir, schedDir := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record := func(unit, spec string) {
		typ, name, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(unit, "snapm-"), ".timer"), "@")
		data, _ := json.Marshal(map[string]string{"type": typ, "name": name, "calendarspec": spec})
		writeFile(filepath.Join(stateDir, "timers", unit), data)
	}
	for unit, content := range map[string]string{
		// Valid for systemd: it clears the list.
		"snapm-gc@reset.timer": "[Timer]\nOnCalendar=\n",
		// Longer than systemd's own limit for a line.
		"snapm-gc@toolong.timer": "[Timer]\n#" + strings.Repeat("x", 2<<20) + "\nOnCalendar=daily\n",
		"snapm-gc@blank.timer":   "",
	} {
		writeFile(dropin.Path(unitDir, unit), []byte(content))
	}
	// A line past 64 KiB that systemd reads.
	writeFile(dropin.Path(unitDir, "snapm-gc@longline.timer"), []byte("[Timer]\n#"+strings.Repeat("x", 100_000)+"\nOnCalendar=weekly\n"))
	// Unreadable: a directory where the file should be.
	if err := os.MkdirAll(dropin.Path(unitDir, "snapm-create@unreadable.timer"), 0o755); err != nil {
		t.Fatal(err)
	}
	record("snapm-create@unreadable.timer", "monthly")
	// Edited by hand while the daemon was down.
	if err := dropin.Write(unitDir, "snapm-create@edited.timer", "weekly"); err != nil {
		t.Fatal(err)
	}
	record("snapm-create@edited.timer", "daily")
	// Empty and corrupt records, and a good one.
	writeFile(filepath.Join(stateDir, "timers", "snapm-gc@empty.timer"), nil)
	writeFile(filepath.Join(stateDir, "timers", "snapm-gc@corrupt.timer"), []byte("{\"type\": \"gc\", \"na"))
	record("snapm-gc@kept.timer", "hourly")
	kept, err := schedule.New("kept", []string{"/"}, "hourly", schedule.Options{"policy_type": "all"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(schedule.Path(schedDir, "kept"), kept.Marshal())
	// A record of which nothing else is left: snapm deleted the schedule
	// while the daemon was down.
	record("snapm-gc@deleted.timer", "hourly")

	e := startIn(t, 10*time.Second, unitDir, stateDir, schedDir)
	for path, want := range map[dbus.ObjectPath]struct{ status, spec string }{
		rootPath + "/gc/reset":             {"invalid", ""},
		rootPath + "/gc/toolong":           {"invalid", ""},
		rootPath + "/gc/blank":             {"invalid", ""},
		rootPath + "/create/unreadable":    {"invalid", "monthly"},
		rootPath + "/gc/longline":          {"invalid", "weekly"}, // a drop-in without enablement
		rootPath + "/create/edited":        {"invalid", "weekly"},
		rootPath + "/gc/kept":              {"disabled", "hourly"},
		rootPath + "/gc/empty":             {"", ""},
		rootPath + "/gc/corrupt":           {"", ""},
		rootPath + "/gc/deleted":           {"", ""},
		rootPath + "/create/never-existed": {"", ""},
	} {
		var props map[string]dbus.Variant
		err := e.call(path, "org.freedesktop.DBus.Properties.GetAll", timerIf).Store(&props)
		if want.status == "" {
			if err == nil {
				t.Errorf("%s: adopted from a bad record: %v", path, props)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: not adopted: %v", path, err)
			continue
		}
		if props["Status"].Value() != want.status || props["CalendarSpec"].Value() != want.spec {
			t.Errorf("%s: adopted as %v %v, want %s %q", path, props["Status"], props["CalendarSpec"], want.status, want.spec)
		}
	}
	data, err := os.ReadFile(filepath.Join(stateDir, "timers", "snapm-create@edited.timer"))
	if err != nil || !strings.Contains(string(data), `"weekly"`) {
		t.Errorf("the record of a drop-in edited while the daemon was down says %s (%v), want weekly", data, err)
	}

	// A broken timer mends by being written again, with snapm's calendar
	// of gc timers.
	reset := rootPath + "/gc/reset"
	if err := e.call(reset, timerIf+".SetCalendarSpec", "daily").Err; errName(err) != errPrefix+"InvalidArgument" {
		t.Errorf("SetCalendarSpec daily on a gc timer: %v, want InvalidArgument", err)
	}
	if err := e.call(reset, timerIf+".SetCalendarSpec", schedule.GCCalendarSpec).Err; err != nil {
		t.Fatal(err)
	}
	if err := e.call(reset, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	if got := e.status(reset); got != "enabled" {
		t.Errorf("mended timer is %s, want enabled", got)
	}
}

// TestBusyTimerHoldsUpNoOther: while systemd's job hangs on one timer,
// resyncs keep the other timers current.
func TestBusyTimerHoldsUpNoOther(t *testing.T) {
	e := start(t, time.Minute)
	fast := e.create("free")
	if err := e.call(fast, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	slow, startDone := e.hangingStart("busy")
	systemd := e.conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := systemd.Call("org.freedesktop.systemd1.Manager.Reload", 0).Err; err != nil {
		t.Fatal(err)
	}
	// Let that resync find the busy timer before the next one is asked for.
	time.Sleep(200 * time.Millisecond)
	if err := dropin.Remove(e.unitDir, "snapm-create@free.timer"); err != nil {
		t.Fatal(err)
	}
	if err := systemd.Call("org.freedesktop.systemd1.Manager.Reload", 0).Err; err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); e.status(fast) != "invalid"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the other timer's drop-in went, and a resync did not say so while the busy timer's job hung")
		}
	}
	e.fake.Release("StartUnit", "snapm-create@busy.timer")
	if err := <-startDone; err != nil {
		t.Errorf("released Start: %v", err)
	}
	// The fake's released job sends no PropertiesChanged: only the read
	// owed since the resync found the timer busy tells that it runs.
	for deadline := time.Now().Add(10 * time.Second); e.status(slow) != "running"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the busy timer was not read again after its operation")
		}
	}
}

// TestStopMidOperationLeavesNothing: a daemon stopped while a call waits
// on a systemd job returns only once nothing of it runs.
func TestStopMidOperationLeavesNothing(t *testing.T) {
	e := start(t, time.Minute)
	_, startDone := e.hangingStart("stopped")
	if err := e.stop(); err != nil {
		t.Fatalf("daemon.Run: %v", err)
	}
	// At once, not eventually (goleak, in TestMain, waits a while): no
	// goroutine of the domain, the D-Bus surface, the systemd adapter, the
	// unit directory's watch or the wiring may outlive Run. The wiring's
	// wrapper of a loop that has returned may still be on its way out
	// after counting itself done; it runs nothing of ours any more.
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if ours(g) {
			t.Errorf("still running after daemon.Run returned:\n%s", g)
		}
	}
	<-startDone
}

// hangingStart creates and enables timer name, and calls Start on it while
// systemd's job for it hangs; the call's error comes on done.
func (e *env) hangingStart(name string) (path dbus.ObjectPath, done <-chan error) {
	e.t.Helper()
	path = e.create(name)
	if err := e.call(path, timerIf+".Enable").Err; err != nil {
		e.t.Fatal(err)
	}
	e.fake.HangUnit("StartUnit", "snapm-create@"+name+".timer")
	calls := e.fake.Calls("StartUnit")
	errs := make(chan error, 1)
	go func() { errs <- e.call(path, timerIf+".Start").Err }()
	for e.fake.Calls("StartUnit") == calls {
		time.Sleep(time.Millisecond)
	}
	return path, errs
}

// ours reports whether a goroutine's stack runs code of the service's
// packages, other than the daemon's wrapper of a loop that has returned.
func ours(stack string) bool {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "snapm-timersd/service/") {
			continue
		}
		wrapper := strings.Contains(l, "service/daemon.Run.func") ||
			(i > 0 && strings.Contains(lines[i-1], "service/daemon.Run.func"))
		if !wrapper {
			return true
		}
	}
	return false
}
