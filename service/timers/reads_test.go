// Tests of how systemd's state reaches a timer: a read racing the signals,
// signals older than the read, and a resync (bulk read) that meets a timer
// busy in an operation.

package timers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

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
	s := mustCreate(t, e, "create", "ordered", "hourly")
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

// TestServiceSignalOlderThanReadIgnored: the last run follows the newest
// of the service's reads and signals, whichever arrives first: a run that
// ends while it is read is never shown running again.
func TestServiceSignalOlderThanReadIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := mustCreate(t, e, "create", "runorder", "hourly")
	tm, _ := e.m.timer(s.Key)
	running := RunState{LoadState: "loaded", ActiveState: "activating", Result: "success", ExecMainStart: 100}
	ended := RunState{LoadState: "loaded", ActiveState: "inactive", Result: "exit-code", ExecMainStatus: 1, ExecMainStart: 100, ExecMainExit: 200}
	e.m.ServiceChanged(s.Key.ServiceUnit(), 7, func(r *RunState) { *r = ended })
	tm.mu.Lock()
	tm.applyRunRead(running, 6) // read before the run ended, answered after
	tm.mu.Unlock()
	e.m.ServiceChanged(s.Key.ServiceUnit(), 5, func(r *RunState) { *r = running })
	tm.mu.Lock()
	tm.publish(e.m.cfg.Observer)
	tm.mu.Unlock()
	if got := tm.Snapshot(); got.Activity != ActivityIdle || got.LastRunResult != "exit-code" {
		t.Errorf("an older read or signal moved the run back: %s, %q", got.Activity, got.LastRunResult)
	}
	tm.mu.Lock()
	tm.applyRunRead(running, 8)
	got := tm.run
	tm.mu.Unlock()
	if got != running {
		t.Errorf("a newer read was not applied: %+v", got)
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

// TestResyncAsksSystemdOnce: a resync of every timer (after a
// daemon-reload, say) asks systemd for one list of the loaded units however
// many timers there are, where a read of each keeps systemd busy for
// minutes at 10,000 timers.
func TestResyncAsksSystemdOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	const n = 20
	for i := range n {
		s := mustCreate(t, e, "create", fmt.Sprintf("bulk%02d", i), "hourly")
		if _, err := e.m.Enable(ctx, s.Key); err != nil {
			t.Fatal(err)
		}
	}
	e.sd.calls.take()
	e.m.Resync(ReadAll)
	var calls []string
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(calls, "LoadedUnits "); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no list of the loaded units in 10 s; systemd was asked %q", calls)
		}
		calls = append(calls, e.sd.calls.take()...)
	}
	calls = append(calls, e.sd.calls.take()...)
	if len(calls) != 1 {
		t.Errorf("a resync of %d timers asked systemd %q, want one LoadedUnits", n, calls)
	}
}

// TestOutsideChangeOfUnitFiles: someone else's change of unit files costs
// systemd a read only when the disk moved one of our timers; otherwise
// nothing is asked and nothing published.
func TestOutsideChangeOfUnitFiles(t *testing.T) {
	t.Parallel()
	const on, off = "snapm-create@on.timer", "snapm-create@off.timer"
	for name, tc := range map[string]struct {
		change    func(t *testing.T, e *env)
		asks      bool   // whether systemd is asked for the loaded units
		wantOnOff string // the two timers' Status afterwards
	}{
		"another unit enabled": {
			change: func(t *testing.T, e *env) {
				if err := os.Symlink("/usr/lib/systemd/system/other.timer", filepath.Join(e.unitDir, "timers.target.wants", "other.timer")); err != nil {
					t.Fatal(err)
				}
			},
			wantOnOff: "enabled, disabled",
		},
		"one of ours enabled by hand": {
			change: func(t *testing.T, e *env) {
				if err := os.Symlink("/usr/lib/systemd/system/snapm-create@.timer", e.sd.wantsLink(off)); err != nil {
					t.Fatal(err)
				}
			},
			asks: true, wantOnOff: "enabled, invalid",
		},
		"one of ours disabled by hand": {
			change: func(t *testing.T, e *env) {
				if err := os.Remove(e.sd.wantsLink(on)); err != nil {
					t.Fatal(err)
				}
			},
			asks: true, wantOnOff: "invalid, disabled",
		},
		"a drop-in of ours edited by hand": {
			change: func(t *testing.T, e *env) {
				e.write(t, e.unitDir, on+".d/10-oncalendar.conf", "[Timer]\nOnCalendar=\nOnCalendar=weekly\n")
			},
			asks: true, wantOnOff: "enabled, disabled",
		},
		"a drop-in of no timer": {
			change: func(t *testing.T, e *env) {
				e.write(t, e.unitDir, "snapm-gc@new.timer.d/10-oncalendar.conf", "[Timer]\nOnCalendar=\nOnCalendar=weekly\n")
			},
			asks: true, wantOnOff: "enabled, disabled",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			mustCreate(t, e, "create", "off", "daily")
			if _, err := e.m.Enable(ctx, mustCreate(t, e, "create", "on", "daily").Key); err != nil {
				t.Fatal(err)
			}
			e.sd.calls.take()
			e.obs.take()
			tc.change(t, e)
			if _, err := e.m.readInBulk(ctx, ReadUnitFile, nil, true); err != nil {
				t.Fatal(err)
			}
			e.settle()
			asked := slices.Contains(e.sd.calls.take(), "LoadedUnits ")
			published := len(e.obs.take()) > 0
			if asked != tc.asks || published != tc.asks {
				t.Errorf("systemd asked: %v, something published: %v; want both %v", asked, published, tc.asks)
			}
			var got []string
			for _, unit := range []string{on, off} {
				key, _ := ParseUnit(unit)
				s, err := e.m.Get(string(key.Type), key.Name)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(s.Status))
			}
			if strings.Join(got, ", ") != tc.wantOnOff {
				t.Errorf("statuses %q, want %q", strings.Join(got, ", "), tc.wantOnOff)
			}
		})
	}
}
