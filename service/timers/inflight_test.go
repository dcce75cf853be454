package timers

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/tests/synctrace"
)

// TestStartUpFinishesMarkedCalls: a timer found halfway (its drop-in, no
// enablement) is finished at start-up as the call its mark names would
// have finished it, and only then; snapm's own halfway state, unmarked, is
// left as it is.
func TestStartUpFinishesMarkedCalls(t *testing.T) {
	t.Parallel()
	const unit = "snapm-create@cut.timer"
	enableMark, disableMark := filepath.Join(string(opEnable), unit), filepath.Join(string(opDisable), unit)
	// halfway leaves unit with its drop-in, loaded, not enabled.
	halfway := func(t *testing.T, e *env) {
		if err := dropin.Write(e.unitDir, unit, "daily"); err != nil {
			t.Fatal(err)
		}
		e.sd.load(unit)
	}
	for name, tc := range map[string]struct {
		marks []string
		setup func(t *testing.T, e *env)
		// disk is env.disk's account of unit after start-up.
		disk   string
		status Status
		// calls are what systemd must have been asked, in this order.
		calls []string
	}{
		"Enable cut short after the drop-in": {
			marks: []string{enableMark}, setup: halfway,
			disk: `drop-in "daily", enabled`, status: StatusEnabled, calls: []string{"EnableUnit " + unit},
		},
		"Disable cut short after the disabling": {
			marks: []string{disableMark}, setup: halfway,
			disk: "no drop-in", status: StatusDisabled, calls: []string{"Reload "},
		},
		"Disable cut short before its reload": {
			marks: []string{disableMark},
			setup: func(t *testing.T, e *env) {
				halfway(t, e)
				if err := dropin.Remove(e.unitDir, unit); err != nil {
					t.Fatal(err)
				}
			},
			disk: "no drop-in", status: StatusDisabled, calls: []string{"Reload "},
		},
		"snapm halfway, no mark of ours": {
			setup: halfway,
			disk:  `drop-in "daily"`, status: StatusInvalid,
		},
		"both marks: a power cut lost the removal of one": {
			marks: []string{enableMark, disableMark}, setup: halfway,
			disk: `drop-in "daily"`, status: StatusInvalid,
		},
		"a mark whose call was done": {
			marks: []string{disableMark},
			setup: func(t *testing.T, e *env) {
				halfway(t, e)
				if err := e.sd.EnableUnit(context.Background(), unit); err != nil {
					t.Fatal(err)
				}
			},
			disk: `drop-in "daily", enabled`, status: StatusEnabled,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) {
				e.schedule(t, "cut", "daily")
				e.write(t, e.state, "timers/"+unit, `{"type":"create","name":"cut","calendarspec":"daily"}`)
				tc.setup(t, e)
				for _, m := range tc.marks {
					e.write(t, e.state, filepath.Join(inflightDir, m), "")
				}
			})
			e.sd.calls.take()
			e.m.LoadSchedules()
			if err := e.m.Adopt(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.disk(t, unit); got != tc.disk {
				t.Errorf("after start-up the disk has %s, want %s", got, tc.disk)
			}
			if tc.disk == "no drop-in" {
				if _, err := os.Lstat(dropin.Dir(e.unitDir, unit)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("UNIT.d is left (%v)", err)
				}
			}
			if snap, err := e.m.Get("create", "cut"); err != nil || snap.Status != tc.status {
				t.Errorf("after start-up the timer is %s (%v), want %s", snap.Status, err, tc.status)
			}
			if left := marksLeft(e); len(left) != 0 {
				t.Errorf("marks left after start-up: %v", left)
			}
			askedAtStart(t, e, unit, tc.calls)
		})
	}
}

// TestEnableAndDisableLeaveNoMark: the marks live only while their call
// does, whatever its outcome, and the longest name has one.
func TestEnableAndDisableLeaveNoMark(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	snap := mustCreate(t, e, "create", strings.Repeat("m", MaxNameLen), "daily")
	noMarks := func(after string) {
		t.Helper()
		if left := marksLeft(e); len(left) != 0 {
			t.Errorf("marks left after %s: %v", after, left)
		}
	}
	if _, err := e.m.Enable(ctx, snap.Key); err != nil {
		t.Fatal(err)
	}
	noMarks("Enable")
	if _, err := e.m.Disable(ctx, snap.Key); err != nil {
		t.Fatal(err)
	}
	noMarks("Disable")
	e.sd.setFail("EnableUnit", errInjected)
	if _, err := e.m.Enable(ctx, snap.Key); !errors.Is(err, errInjected) {
		t.Fatalf("Enable with EnableUnit failing: %v", err)
	}
	noMarks("a failed Enable")
}

// marksLeft lists the marks in e's state directory.
func marksLeft(e *env) []string {
	left, _ := filepath.Glob(filepath.Join(e.state, inflightDir, "*", "*"))
	return left
}

// TestMarkDurable: a mark is durable once begin's durable returns, with
// the directory it is made in on first use: a power cut after the call's
// first change must find it (strace sees the syncs; a SIGKILL cannot show
// an unsynced entry).
func TestMarkDurable(t *testing.T) {
	synctrace.Check(t, "TestMarkDurableHelper", "first mark", "another mark")
}

// TestMarkDurableHelper makes TestMarkDurable's marks under strace.
func TestMarkDurableHelper(t *testing.T) {
	if !synctrace.Helping() {
		t.Skip("run by TestMarkDurable, under strace")
	}
	// Below the root, whose own entries are the test's.
	s := &store{dir: filepath.Join(synctrace.Root(), "state")}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, mark := range []struct {
		name string
		key  Key
		op   inflightOp
	}{{"first mark", Key{Type: TypeCreate, Name: "a"}, opEnable}, {"another mark", Key{Type: TypeGC, Name: "a"}, opDisable}} {
		durable, err := s.begin(mark.key, mark.op)
		if err == nil {
			err = durable()
		}
		if err != nil {
			t.Fatal(err)
		}
		synctrace.Mark(mark.name)
	}
}

// BenchmarkMark is what a mark costs Enable or Disable (made durable, then
// removed), beside the baseline of the disk work every Enable and Disable
// does anyway: the drop-in installed durably and removed, on the same file
// system. Run it on a disk, not a tmpfs: the syncs are the cost.
func BenchmarkMark(b *testing.B) {
	key := Key{Type: TypeCreate, Name: "bench"}
	b.Run("mark made durable and removed", func(b *testing.B) {
		s := &store{dir: b.TempDir()}
		for b.Loop() {
			durable, err := s.begin(key, opEnable)
			if err == nil {
				err = durable()
			}
			if err == nil {
				err = s.end(key, opEnable)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline: drop-in written and removed", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if err := dropin.Write(dir, key.Unit(), "daily"); err != nil {
				b.Fatal(err)
			}
			if err := dropin.Remove(dir, key.Unit()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
