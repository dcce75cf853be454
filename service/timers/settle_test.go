package timers

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// TestSnapmSequencesDoNotFlash: snapm's enable (drop-in, then the unit
// file) and disable (unit file, then the drop-in) are published as their
// outcomes only, never as the invalid state they pass through, also for a
// timer first seen midway; a drop-in left without enablement is published
// invalid once DefaultSettleTime has passed.
func TestSnapmSequencesDoNotFlash(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const unit = "snapm-create@seq.timer"
	mustCreate(t, e, "create", "seq", "daily")
	e.obs.take()
	statuses := func() string {
		var out []string
		for _, ev := range e.obs.take() {
			out = append(out, ev.Kind+" "+ev.Unit()+" "+string(ev.Status))
		}
		return strings.Join(out, "; ")
	}
	unitFiles := func() {
		if _, err := e.m.readInBulk(ctx, ReadUnitFile, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	link := func(unit string) {
		if err := os.MkdirAll(e.unitDir+"/timers.target.wants", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/usr/lib/systemd/system/"+templateOf(unit), e.sd.wantsLink(unit)); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		what string
		do   func()
		want string
	}{
		{"snapm's enable writes the drop-in", func() {
			if err := dropin.Write(e.unitDir, unit, "daily"); err != nil {
				t.Fatal(err)
			}
			e.m.DiskChanged(ctx, []string{unit})
		}, ""},
		{"then enables the unit", func() { link(unit); unitFiles() }, "changed " + unit + " enabled"},
		{"snapm's disable disables the unit", func() {
			if err := os.Remove(e.sd.wantsLink(unit)); err != nil {
				t.Fatal(err)
			}
			unitFiles()
		}, ""},
		{"then removes the drop-in", func() {
			if err := dropin.Remove(e.unitDir, unit); err != nil {
				t.Fatal(err)
			}
			e.m.DiskChanged(ctx, []string{unit})
		}, "changed " + unit + " disabled"},
		{"snapm's create writes a new timer's drop-in", func() {
			if err := dropin.Write(e.unitDir, "snapm-gc@seq.timer", "*-*-* *:10:00"); err != nil {
				t.Fatal(err)
			}
			e.m.DiskChanged(ctx, []string{"snapm-gc@seq.timer"})
		}, ""},
		{"then enables it", func() { link("snapm-gc@seq.timer"); unitFiles() }, "added snapm-gc@seq.timer enabled"},
		{"a drop-in left without enablement", func() {
			if err := dropin.Write(e.unitDir, unit, "daily"); err != nil {
				t.Fatal(err)
			}
			e.m.DiskChanged(ctx, []string{unit})
		}, ""},
		{"published once DefaultSettleTime has passed", e.settle, "changed " + unit + " invalid"},
	} {
		step.do()
		if got := statuses(); got != step.want {
			t.Errorf("%s: published %q, want %q", step.what, got, step.want)
		}
	}
}

// TestRemovedTimerStaysRemoved: nothing publishes a timer once it is
// removed (whatever still holds it: the end of the Remove itself, the
// elapse keeper walking the timers): its object would come back.
func TestRemovedTimerStaysRemoved(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := mustCreate(t, e, "create", "held", "daily")
	tm, err := e.m.timer(s.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.Remove(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	e.obs.take()
	tm.mu.Lock()
	tm.unit.LastTrigger = 42 // read late, say
	tm.publish(e.obs)
	tm.mu.Unlock()
	if events := e.obs.take(); len(events) != 0 {
		t.Errorf("published after the removal: %+v", events)
	}
}
