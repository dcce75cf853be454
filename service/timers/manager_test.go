package timers

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/service/dropin"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got, as indented JSON, with testdata/name, or rewrites
// that file with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s differs (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", path, data, want)
	}
}

// fileName makes a golden file's name of a test case's.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '_'
	}, strings.ToLower(name)) + ".json"
}

func TestApplyRead(t *testing.T) {
	t.Parallel()
	signalled := UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled",
		Calendars: []string{"*-*-* 00:00:00"}, NextElapse: 200}
	read := UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", UnitFileState: "from the read",
		NeedDaemonReload: true, Calendars: []string{"*-*-* *:00:00"}, NextElapse: 100}
	for name, tc := range map[string]struct {
		lastSeq uint64 // of the last signal applied
		readSeq uint64
		want    UnitState
		wantSeq uint64
	}{
		"a read newer than the last signal replaces it": {
			lastSeq: 5, readSeq: 6,
			want:    UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", UnitFileState: "enabled", NeedDaemonReload: true, Calendars: []string{"*-*-* *:00:00"}, NextElapse: 100},
			wantSeq: 6,
		},
		// NeedDaemonReload is never signalled, TimersCalendar only
		// invalidated: both come from the read.
		"a read older than a signal keeps the signal's values and takes what is never signalled": {
			lastSeq: 7, readSeq: 6,
			want:    UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled", NeedDaemonReload: true, Calendars: []string{"*-*-* *:00:00"}, NextElapse: 200},
			wantSeq: 7,
		},
		"a failed read (no sequence) changes nothing": {
			lastSeq: 7, readSeq: 0,
			want:    signalled,
			wantSeq: 7,
		},
	} {
		t.Run(name, func(t *testing.T) {
			tm := &Timer{unit: signalled, seq: tc.lastSeq}
			tm.applyRead(read, tc.readSeq)
			if !reflect.DeepEqual(tm.unit, tc.want) || tm.seq != tc.wantSeq {
				t.Errorf("after the read: %+v seq %d\nwant          %+v seq %d", tm.unit, tm.seq, tc.want, tc.wantSeq)
			}
		})
	}
}

// TestSignalOlderThanReadIgnored: a signal that was sent before the read
// the timer already took cannot move the timer back.
func TestSignalOlderThanReadIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	s := mustCreate(t, e, "gc", "ordered", "hourly")
	if _, err := e.m.Enable(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	started, err := e.m.Start(ctx, s.Key)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := e.m.timer(s.Key)
	tm.mu.Lock()
	seq := tm.seq
	tm.mu.Unlock()
	e.m.UnitChanged(s.Unit(), seq-1, func(u *UnitState) { u.ActiveState, u.SubState = "inactive", "dead" })
	e.m.UnitChanged(s.Unit(), seq, func(u *UnitState) { u.ActiveState, u.SubState = "failed", "failed" })
	if got := tm.Snapshot(); got != started {
		t.Errorf("stale signals moved the timer:\n%+v\nwant\n%+v", got, started)
	}
	e.m.UnitChanged(s.Unit(), seq+1, func(u *UnitState) { u.ActiveState, u.SubState = "inactive", "dead" })
	if got := tm.Snapshot(); got.Status != StatusEnabled || got.Running {
		t.Errorf("a newer signal was not applied: %+v", got)
	}
}

func mustCreate(t *testing.T, e *env, typ, name, spec string) Snapshot {
	t.Helper()
	s, err := e.m.Create(context.Background(), typ, name, spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAdvanceElapses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		spec string
		// advance is how far the clock moves after the timer is made.
		advance   time.Duration
		wantNext  time.Time // zero: never elapses
		wantSleep time.Duration
		wantEvent bool
	}{
		"a future elapse stays; sleep until it": {
			spec: "hourly", advance: 10 * time.Minute,
			wantNext: epoch.Truncate(time.Hour).Add(time.Hour), wantSleep: 20*time.Minute + time.Microsecond,
		},
		"a passed elapse moves on and is published": {
			spec: "hourly", advance: 45 * time.Minute,
			wantNext: epoch.Truncate(time.Hour).Add(2 * time.Hour), wantSleep: 45*time.Minute + time.Microsecond, wantEvent: true,
		},
		"several passed elapses move on to the next one to come": {
			spec: "*:0/5", advance: 17 * time.Minute,
			wantNext: epoch.Add(20 * time.Minute), wantSleep: 3*time.Minute + time.Microsecond, wantEvent: true,
		},
		"far elapses sleep at most an hour (the wall clock may jump)": {
			spec: "monthly", advance: time.Minute,
			wantNext: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), wantSleep: maxElapseSleep,
		},
		"an expression whose last elapse passed never elapses again": {
			spec: "2026-01-01 11:00:00", advance: time.Hour,
			wantSleep: maxElapseSleep, wantEvent: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			s := mustCreate(t, e, "create", "elapsing", tc.spec)
			e.obs.take()
			e.clock.Set(epoch.Add(tc.advance))
			sleep := e.m.advanceElapses()
			got, _ := e.m.Get("create", "elapsing")
			var wantNext uint64
			if !tc.wantNext.IsZero() {
				wantNext = usec(tc.wantNext)
			}
			if got.NextElapse != wantNext || sleep != tc.wantSleep {
				t.Errorf("NextElapse %v, sleep %v; want %v, %v", time.UnixMicro(int64(got.NextElapse)).UTC(), sleep, tc.wantNext, tc.wantSleep)
			}
			want := s
			want.NextElapse, want.Occurs = wantNext, wantNext != 0
			if got != want {
				t.Errorf("snapshot %+v\nwant     %+v", got, want)
			}
			events := e.obs.take()
			if tc.wantEvent != (len(events) == 1) || (len(events) == 1 && events[0] != (event{"changed", want})) {
				t.Errorf("published %+v, want one change: %t", events, tc.wantEvent)
			}
		})
	}
}

// TestBulkReadSkipsBusyTimer: a resync does not wait on a timer whose
// operation is under way (a hung systemd job would hold every other timer's
// update); it reads it once the operation is over.
func TestBulkReadSkipsBusyTimer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	busy := mustCreate(t, e, "create", "busy", "hourly")
	free := mustCreate(t, e, "create", "free", "daily")
	for _, k := range []Key{busy.Key, free.Key} {
		if _, err := e.m.Enable(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	// Both started behind the manager's back, signals lost: only a
	// resync can tell.
	e.sd.mu.Lock()
	for _, k := range []Key{busy.Key, free.Key} {
		e.sd.load(k.Unit())
		e.sd.unit(k.Unit()).active = true
	}
	e.sd.mu.Unlock()
	bt, _ := e.m.timer(busy.Key)
	unlock, err := bt.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for len(e.obs.changed) > 0 {
		<-e.obs.changed
	}
	// The resync reads the free timer and hands the busy one to the
	// reader, without waiting on it.
	if _, err := e.m.readInBulk(ctx, ReadUnit, nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-e.obs.changed:
		if s.Key != free.Key || s.Status != StatusRunning {
			t.Fatalf("first change published while %s is busy: %+v", busy.Key, s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the resync did not read the free timer")
	}
	if s := bt.Snapshot(); s.Status == StatusRunning {
		t.Fatalf("busy timer read while its operation holds it: %+v", s)
	}
	unlock()
	// Let go of, it is read by the reader.
	for deadline := time.Now().Add(10 * time.Second); bt.Snapshot().Status != StatusRunning; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	if s := bt.Snapshot(); s.Status != StatusRunning {
		t.Errorf("busy timer after its operation: %+v", s)
	}
}

// TestDiskChangedHandsBackBusyTimers: the watch of the unit directory
// does not wait on a timer in an operation either; it is handed back, to
// be reported again.
func TestDiskChangedHandsBackBusyTimers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	busy := mustCreate(t, e, "create", "busy", "hourly")
	bt, _ := e.m.timer(busy.Key)
	unlock, err := bt.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dropin.Write(e.unitDir, busy.Unit(), "daily"); err != nil {
		t.Fatal(err)
	}
	later := e.m.DiskChanged(ctx, []string{busy.Unit(), "snapm-gc@absent.timer"})
	if !reflect.DeepEqual(later, []string{busy.Unit()}) {
		t.Errorf("handed back %q, want only the busy timer's unit", later)
	}
	unlock()
	if later := e.m.DiskChanged(ctx, later); len(later) != 0 {
		t.Errorf("handed back %q once free", later)
	}
	if s := bt.Snapshot(); s.Spec != "daily" {
		t.Errorf("busy timer's hand edit not read once free: %+v", s)
	}
}

func TestAdoptOddFiles(t *testing.T) {
	t.Parallel()
	const (
		snapmDropIn = "[Timer]\n# Reset the OnCalendar list\nOnCalendar=\n# Configure OnCalendar for this template instance.\nOnCalendar=%s\n"
		unitDir     = "unit"
		stateDir    = "state"
	)
	dropIn := func(spec string) string { return strings.Replace(snapmDropIn, "%s", spec, 1) }
	record := func(typ, name, spec string) string {
		return `{"type":"` + typ + `","name":"` + name + `","calendarspec":"` + spec + `"}`
	}
	for name, tc := range map[string]struct {
		// files maps "unit/REL" or "state/REL" to content.
		files map[string]string
	}{
		"a drop-in as snapm writes it": {files: map[string]string{
			"unit/snapm-create@py.timer.d/10-oncalendar.conf": dropIn("Sat,Sun 08:05:40"),
		}},
		"a state record only: created, never enabled": {files: map[string]string{
			"state/timers/snapm-gc@rec.timer": record("gc", "rec", "weekly"),
		}},
		"a drop-in and a record that disagree: the drop-in wins": {files: map[string]string{
			"unit/snapm-gc@both.timer.d/10-oncalendar.conf": dropIn("hourly"),
			"state/timers/snapm-gc@both.timer":              record("gc", "both", "daily"),
		}},
		"an expression our engine refuses is kept and shown invalid": {files: map[string]string{
			"unit/snapm-create@bad.timer.d/10-oncalendar.conf": dropIn("25:00"),
		}},
		"units that are not ours, or names we would refuse, are left alone": {files: map[string]string{
			"unit/other@x.timer.d/10-oncalendar.conf":            dropIn("daily"),
			"unit/snapm-create@a%20b.timer.d/10-oncalendar.conf": dropIn("daily"),
			"unit/snapm-create@ok.timer.d/20-accuracy.conf":      "[Timer]\nAccuracySec=1us\n",
			"unit/snapm-create@ok.timer.d/10-oncalendar.conf":    dropIn("minutely"),
		}},
		"a temporary file left by a crash in the state directory": {files: map[string]string{
			"state/timers/.snapm-timersd-123": "{",
			"state/timers/snapm-gc@rec.timer": record("gc", "rec", "weekly"),
		}},
		"a drop-in that only resets OnCalendar=": {files: map[string]string{
			"unit/snapm-create@reset.timer.d/10-oncalendar.conf": "[Timer]\nOnCalendar=\n",
			"unit/snapm-create@fine.timer.d/10-oncalendar.conf":  dropIn("daily"),
		}},
		"an empty state record": {files: map[string]string{
			"state/timers/snapm-gc@empty.timer": "",
			"state/timers/snapm-gc@rec.timer":   record("gc", "rec", "weekly"),
		}},
		"a corrupt state record": {files: map[string]string{
			"state/timers/snapm-gc@corrupt.timer": `{"type":"gc","na`,
			"state/timers/snapm-gc@rec.timer":     record("gc", "rec", "weekly"),
		}},
		"a drop-in with a line longer than 64 KiB": {files: map[string]string{
			"unit/snapm-create@long.timer.d/10-oncalendar.conf": "[Timer]\n#" + strings.Repeat("x", 70000) + "\nOnCalendar=daily\n",
			"unit/snapm-create@fine.timer.d/10-oncalendar.conf": dropIn("daily"),
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) {
				for _, rel := range sortedKeys(tc.files) {
					where, file, _ := strings.Cut(rel, "/")
					dir := map[string]string{unitDir: e.unitDir, stateDir: e.state}[where]
					e.write(t, dir, file, tc.files[rel])
				}
			})
			if err := e.m.Adopt(context.Background()); err != nil {
				t.Fatalf("Adopt: %v", err)
			}
			golden(t, "adopt/"+fileName(name), e.m.List())
		})
	}
}

// TestOperationUndo: an operation that fails part way leaves the timer,
// the disk and systemd as they were (or, for Disable, without the
// schedule), and says what failed.
func TestOperationUndo(t *testing.T) {
	t.Parallel()
	type op func(ctx context.Context, m *Manager, k Key) error
	enable := func(ctx context.Context, m *Manager, k Key) error { _, err := m.Enable(ctx, k); return err }
	for name, tc := range map[string]struct {
		// before takes the fresh timer (created with "hourly") to its
		// starting point; loaded makes systemd load it first.
		before []string
		loaded bool
		fail   string
		op     op
		// want: the disk after, whether the snapshot is as before, and
		// the status otherwise.
		wantDisk   string
		wantStatus Status
		wantIO     bool
	}{
		"enable failing at EnableUnit": {
			fail: "EnableUnit", op: enable,
			wantDisk: "no drop-in", wantStatus: StatusDisabled,
		},
		"enable failing when it reads systemd's view (sync)": {
			fail: "UnitState", op: enable,
			wantDisk: "no drop-in", wantStatus: StatusDisabled,
		},
		"enable failing at the daemon-reload a loaded unit needs": {
			loaded: true, fail: "Reload", op: enable,
			wantDisk: "no drop-in", wantStatus: StatusDisabled,
		},
		"start failing leaves it enabled": {
			before: []string{"Enable"}, fail: "StartUnit",
			op:       func(ctx context.Context, m *Manager, k Key) error { _, err := m.Start(ctx, k); return err },
			wantDisk: `drop-in "hourly", enabled`, wantStatus: StatusEnabled,
		},
		"disable failing at StopUnit still removes the schedule": {
			before: []string{"Enable", "Start"}, fail: "StopUnit",
			op:       func(ctx context.Context, m *Manager, k Key) error { _, err := m.Disable(ctx, k); return err },
			wantDisk: "no drop-in", wantStatus: StatusInvalid,
		},
		"remove failing at DisableUnit keeps the timer": {
			before: []string{"Enable"}, fail: "DisableUnit",
			op:       func(ctx context.Context, m *Manager, k Key) error { return m.Remove(ctx, k) },
			wantDisk: `no drop-in, enabled`, wantStatus: StatusInvalid,
		},
		"set calendar failing at the reload keeps the new drop-in, which systemd is told about at the next one": {
			before: []string{"Enable", "Start"}, fail: "Reload",
			op: func(ctx context.Context, m *Manager, k Key) error {
				_, err := m.SetCalendarSpec(ctx, k, "daily")
				return err
			},
			wantDisk: `drop-in "daily", enabled`, wantStatus: StatusRunning,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			s := mustCreate(t, e, "create", "undo", "hourly")
			if tc.loaded {
				e.sd.mu.Lock()
				e.sd.load(s.Unit())
				e.sd.mu.Unlock()
			}
			for _, step := range tc.before {
				res := reflect.ValueOf(e.m).MethodByName(step).Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(s.Key)})
				if err, _ := res[1].Interface().(error); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			e.sd.setFail(tc.fail, errInjected)
			err := tc.op(ctx, e.m, s.Key)
			if !errors.Is(err, errInjected) {
				t.Errorf("error %v, want the injected one", err)
			}
			if got := e.disk(t, s.Unit()); got != tc.wantDisk {
				t.Errorf("disk: %s, want %s", got, tc.wantDisk)
			}
			got, getErr := e.m.Get("create", "undo")
			if getErr != nil || got.Status != tc.wantStatus {
				t.Errorf("after the failure: %+v (%v), want status %s", got, getErr, tc.wantStatus)
			}
		})
	}
}

// TestLifecycle drives a timer through every operation and compares what
// the Observer heard at each step with testdata/lifecycle.json.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	type step struct {
		Step   string
		Events []event
		Calls  []string // sorted: Enable asks two things at once
	}
	var steps []step
	record := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		calls := e.sd.calls.take()
		slices.Sort(calls)
		steps = append(steps, step{Step: name, Events: e.obs.take(), Calls: calls})
	}
	s, err := e.m.Create(ctx, "gc", "life", "hourly")
	record("Create hourly", err)
	k := s.Key
	_, err = e.m.Enable(ctx, k)
	record("Enable", err)
	_, err = e.m.Start(ctx, k)
	record("Start", err)
	_, err = e.m.SetCalendarSpec(ctx, k, "*:0/5")
	record("SetCalendarSpec *:0/5 while running", err)
	e.clock.Set(epoch.Add(7 * time.Minute))
	e.m.advanceElapses()
	record("clock past the next elapse (systemd's value stays until it signals)", nil)
	_, err = e.m.Stop(ctx, k)
	record("Stop", err)
	e.m.advanceElapses()
	record("clock still past: the engine's next elapse, now that systemd does not run it", nil)
	if err := dropin.Write(e.unitDir, k.Unit(), "minutely"); err != nil {
		t.Fatal(err)
	}
	e.m.DiskChanged(ctx, []string{k.Unit()})
	record("drop-in edited by hand", nil)
	_, err = e.m.Disable(ctx, k)
	record("Disable", err)
	record("Remove", e.m.Remove(ctx, k))
	golden(t, "lifecycle.json", steps)
}

// TestDiskChanged: what the watch of the unit directory reports reaches
// the timers: edits, removals, new drop-ins (a new timer, announced once
// read), and nothing but a file read for our own writes. Each case starts
// from "create@w" (hourly) enabled and running, and compares what the
// Observer heard and what systemd was asked with
// testdata/diskchanged/CASE.json.
func TestDiskChanged(t *testing.T) {
	t.Parallel()
	const w = "snapm-create@w.timer"
	edit := func(spec string) func(t *testing.T, e *env) {
		return func(t *testing.T, e *env) {
			if err := dropin.Write(e.unitDir, w, spec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, tc := range map[string]struct {
		change func(t *testing.T, e *env)
		units  []string // reported; nil: anything may have changed
	}{
		"our own write comes back": {
			change: func(*testing.T, *env) {}, units: []string{w},
		},
		"the drop-in edited by hand: the disk's schedule and a reload needed": {
			change: edit("minutely"), units: []string{w},
		},
		"the UNIT.d deleted by hand": {
			change: func(t *testing.T, e *env) { os.RemoveAll(dropin.Dir(e.unitDir, w)) }, units: []string{w},
		},
		"a new drop-in becomes a timer": {
			change: func(t *testing.T, e *env) {
				if err := dropin.Write(e.unitDir, "snapm-gc@new.timer", "weekly"); err != nil {
					t.Fatal(err)
				}
			},
			units: []string{"snapm-gc@new.timer"},
		},
		"a UNIT.d without our drop-in is no timer": {
			change: func(t *testing.T, e *env) {
				e.write(t, e.unitDir, "snapm-gc@other.timer.d/20-accuracy.conf", "[Timer]\nAccuracySec=1us\n")
			},
			units: []string{"snapm-gc@other.timer"},
		},
		"events lost: every drop-in read": {
			change: func(t *testing.T, e *env) {
				edit("minutely")(t, e)
				if err := dropin.Write(e.unitDir, "snapm-gc@new.timer", "weekly"); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			s := mustCreate(t, e, "create", "w", "hourly")
			for _, op := range []func(context.Context, Key) (Snapshot, error){e.m.Enable, e.m.Start} {
				if _, err := op(ctx, s.Key); err != nil {
					t.Fatal(err)
				}
			}
			e.obs.take()
			e.sd.calls.take()
			tc.change(t, e)
			e.m.DiskChanged(ctx, tc.units)
			golden(t, "diskchanged/"+fileName(name), struct {
				Events []event
				Calls  []string
			}{e.obs.take(), e.sd.calls.take()})
		})
	}
}

// TestDropInDirFollowsTimer: Create makes the empty UNIT.d (so that
// Enable adds nothing to the unit directory), Disable removes it with the
// drop-in as snapm does, and Remove takes the one a timer never enabled
// leaves.
func TestDropInDirFollowsTimer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	dir := func(name string) []string {
		t.Helper()
		entries, err := os.ReadDir(dropin.Dir(e.unitDir, "snapm-gc@"+name+".timer"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, entry := range entries {
			out = append(out, entry.Name())
		}
		return out
	}
	type step struct {
		name string
		do   func(k Key) error
		want []string // nil: no UNIT.d
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"enabled and disabled", []step{
			{"Enable", func(k Key) error { _, err := e.m.Enable(ctx, k); return err }, []string{dropin.FileName}},
			{"Disable", func(k Key) error { _, err := e.m.Disable(ctx, k); return err }, nil},
		}},
		{"removed unused", []step{
			{"Remove", func(k Key) error { return e.m.Remove(ctx, k) }, nil},
		}},
		{"removed enabled", []step{
			{"Enable", func(k Key) error { _, err := e.m.Enable(ctx, k); return err }, []string{dropin.FileName}},
			{"Remove", func(k Key) error { return e.m.Remove(ctx, k) }, nil},
		}},
	} {
		name := strings.ReplaceAll(tc.name, " ", "-")
		s, err := e.m.Create(ctx, "gc", name, "daily")
		if err != nil {
			t.Fatal(err)
		}
		if got := dir(name); got == nil || len(got) != 0 {
			t.Fatalf("%s: after Create UNIT.d holds %q (nil: none), want it empty", tc.name, got)
		}
		for _, st := range tc.steps {
			if err := st.do(s.Key); err != nil {
				t.Fatalf("%s: %s: %v", tc.name, st.name, err)
			}
			if got := dir(name); !slices.Equal(got, st.want) || (got == nil) != (st.want == nil) {
				t.Errorf("%s: after %s UNIT.d holds %q, want %q (nil: none)", tc.name, st.name, got, st.want)
			}
		}
	}
}
