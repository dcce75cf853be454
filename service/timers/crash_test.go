package timers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// TestStartUpFinishesCutShortWrites: what a crash between two writes of
// one call leaves, start-up brings to a state the caller could have seen.
func TestStartUpFinishesCutShortWrites(t *testing.T) {
	t.Parallel()
	const unit = "snapm-create@cut.timer"
	// enabledRunning makes unit enabled, loaded with a drop-in of spec and
	// running, and then writes onDisk into its drop-in.
	enabledRunning := func(e *env, spec, onDisk string) {
		if err := dropin.Write(e.unitDir, unit, spec); err != nil {
			t.Fatal(err)
		}
		if err := e.sd.EnableUnit(context.Background(), unit); err != nil {
			t.Fatal(err)
		}
		e.sd.load(unit)
		e.sd.unit(unit).active = true
		if err := dropin.Write(e.unitDir, unit, onDisk); err != nil {
			t.Fatal(err)
		}
	}
	for name, tc := range map[string]struct {
		setup func(t *testing.T, e *env)
		// spec is what the drop-in and the timer say after start-up; ""
		// for no timer at all.
		spec string
		// calls are what systemd must have been asked, in this order.
		calls []string
	}{
		"SetCalendarSpec killed before its reload": {
			setup: func(t *testing.T, e *env) {
				e.schedule(t, "cut", "weekly")
				enabledRunning(e, "daily", "weekly")
			},
			spec: "weekly", calls: []string{"Reload "},
		},
		"EditSchedule killed after the schedule file": {
			setup: func(t *testing.T, e *env) {
				e.schedule(t, "cut", "weekly")
				enabledRunning(e, "daily", "daily")
				e.write(t, e.state, "timers/"+unit, `{"type":"create","name":"cut","calendarspec":"daily"}`)
			},
			spec: "weekly", calls: []string{"Reload "},
		},
		"CreateTimerWithFlags killed before its answer": {
			setup: func(t *testing.T, e *env) {
				e.schedule(t, "cut", "daily")
				enabledRunning(e, "daily", "daily")
				e.write(t, e.state, "timers/"+unit, `{"type":"create","name":"cut","calendarspec":"daily","creating":true}`)
			},
			calls: []string{"StopUnit " + unit, "DisableUnit " + unit, "Reload "},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) { tc.setup(t, e) })
			e.sd.calls.take()
			e.m.LoadSchedules()
			if err := e.m.Adopt(context.Background()); err != nil {
				t.Fatal(err)
			}
			spec, _, err := dropin.Read(e.unitDir, unit)
			if err != nil || spec != tc.spec {
				t.Errorf("the drop-in says %q (%v), want %q", spec, err, tc.spec)
			}
			snap, err := e.m.Get("create", "cut")
			switch {
			case tc.spec == "" && (err != nil || snap.Status != StatusDisabled || snap.Spec != "daily"):
				// Undone, it is its schedule file's timer again.
				t.Errorf("the half-made timer is kept: %+v, %v; want its schedule's, disabled", snap, err)
			case tc.spec != "" && (err != nil || snap.Spec != tc.spec):
				t.Errorf("the timer shows %q (%v), want %q", snap.Spec, err, tc.spec)
			}
			if tc.spec == "" {
				for _, p := range []string{dropin.Dir(e.unitDir, unit), e.sd.wantsLink(unit), filepath.Join(e.state, recordDir, unit)} {
					if _, err := os.Lstat(p); err == nil {
						t.Errorf("%s is left", p)
					}
				}
			}
			// The reload owed at start-up comes from the reader.
			askedAtStart(t, e, unit, tc.calls)
		})
	}
}

// TestFailedUndoOfHalfMadeTimerKeepsIt: a half-made timer that start-up
// cannot undo is kept, shown, and no longer marked, so that no later start
// takes it away once callers have seen it.
func TestFailedUndoOfHalfMadeTimerKeepsIt(t *testing.T) {
	t.Parallel()
	const unit = "snapm-create@cut.timer"
	e := newEnv(t, func(e *env) {
		e.schedule(t, "cut", "daily")
		if err := dropin.Write(e.unitDir, unit, "daily"); err != nil {
			t.Fatal(err)
		}
		if err := e.sd.EnableUnit(context.Background(), unit); err != nil {
			t.Fatal(err)
		}
		e.write(t, e.state, "timers/"+unit, `{"type":"create","name":"cut","calendarspec":"daily","creating":true}`)
		e.sd.setFail("DisableUnit", errInjected)
	})
	e.m.LoadSchedules()
	if err := e.m.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Get("create", "cut"); err != nil {
		t.Errorf("the timer whose undo failed is not shown: %v", err)
	}
	recs, _, err := e.m.store.load()
	if err != nil || len(recs) != 1 || recs[0].Creating {
		t.Errorf("records after the failed undo: %+v (%v), want one, unmarked", recs, err)
	}
}

// askedAtStart fails t unless the changes systemd was asked for since the
// last take, within 5 s, are want, in this order; the reads of the
// create timer of "cut" are not counted.
func askedAtStart(t *testing.T, e *env, unit string, want []string) {
	t.Helper()
	var calls []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, c := range e.sd.calls.take() {
			if !slices.Contains([]string{"UnitState " + unit, "UnitFileState " + unit, "LoadedUnits ", "ServiceState snapm-create@cut.service"}, c) {
				calls = append(calls, c)
			}
		}
		if slices.Equal(calls, want) {
			return
		}
	}
	t.Errorf("systemd was asked %q, want %q", calls, want)
}
