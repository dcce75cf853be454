package timers

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// The systemd adapter has dbus-daemon send it the signals of the units
// the domain follows, and no others: every timer the manager holds must
// be followed once, from before its first read, and nothing else.
func TestFollowedAreTheTimers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) {
		if err := dropin.Write(e.unitDir, "snapm-create@old.timer", "daily"); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	if err := e.m.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		e.m.mu.RLock()
		want := map[Key]int{}
		for key := range e.m.timers {
			want[key] = 1
		}
		e.m.mu.RUnlock()
		e.sd.mu.Lock()
		got := maps.Clone(e.sd.followed)
		e.sd.mu.Unlock()
		if !maps.Equal(got, want) {
			t.Errorf("%s: followed %v, want %v", step, got, want)
		}
	}
	check("adopted")
	// A UnitState read of a timer not followed yet would be a change lost.
	e.sd.done = func(method string) {
		if method == "UnitState" && len(e.sd.followed) == 0 {
			t.Errorf("%s before any Follow", method)
		}
	}
	mustCreate(t, e, "gc", "new", schedule.GCCalendarSpec)
	check("created")
	if _, err := e.m.Create(ctx, "gc", "new", schedule.GCCalendarSpec); !errors.Is(err, ErrTimerExists) {
		t.Fatalf("second create: %v, want ErrTimerExists", err)
	}
	check("created twice")
	e.sd.setFail("EnableUnit", errInjected)
	e.schedule(t, "rolledback", "daily")
	if _, err := e.m.CreateWithFlags(ctx, "gc", "rolledback", schedule.GCCalendarSpec, uint64(CreateEnable)); !errors.Is(err, errInjected) {
		t.Fatalf("create with a failing enable: %v", err)
	}
	e.sd.setFail("EnableUnit", nil)
	check("rolled back")
	for _, unit := range []string{"snapm-gc@outside.timer", "snapm-gc@vanishing.timer"} {
		if err := dropin.Write(e.unitDir, unit, "weekly"); err != nil {
			t.Fatal(err)
		}
	}
	// One drop-in goes again while its timer is read: it is not adopted.
	e.sd.done = func(method string) {
		if method == "UnitState" {
			os.Remove(dropin.Path(e.unitDir, "snapm-gc@vanishing.timer"))
		}
	}
	busy := e.m.DiskChanged(ctx, []string{"snapm-gc@vanishing.timer"})
	e.sd.done = nil
	busy = append(busy, e.m.DiskChanged(ctx, []string{"snapm-gc@outside.timer", "snapm-gc@absent.timer"})...)
	if len(busy) != 0 {
		t.Fatalf("busy: %v", busy)
	}
	if _, err := e.m.Get("gc", "vanishing"); !errors.Is(err, ErrNoSuchTimer) {
		t.Fatalf("the timer whose drop-in went: %v, want ErrNoSuchTimer", err)
	}
	check("configured on disk")
	for _, key := range []Key{{TypeCreate, "old"}, {TypeGC, "outside"}} {
		if err := e.m.Remove(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	check("removed")
	if keys := slices.Collect(maps.Keys(e.sd.followed)); len(keys) != 1 {
		t.Errorf("followed at the end: %v, want the one timer left", keys)
	}
}
