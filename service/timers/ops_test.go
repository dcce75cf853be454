// Tests of the operations on a timer: undo of one that fails part way, the
// whole lifecycle as the Observer and systemd see it, and the UNIT.d that
// comes and goes with the timer.

package timers

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/service/dropin"
)

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
	e.schedule(t, "life", "hourly")
	s, err := e.m.Create(ctx, "create", "life", "hourly")
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
		entries, err := os.ReadDir(dropin.Dir(e.unitDir, "snapm-create@"+name+".timer"))
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
		e.schedule(t, name, "daily")
		s, err := e.m.Create(ctx, "create", name, "daily")
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
