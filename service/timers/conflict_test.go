package timers

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// once runs fn the first time the fake systemd returns from method, as
// another writer acting in the middle of an operation (with the fake's
// lock held: fn touches only the disk).
func (e *env) once(method string, fn func()) {
	var o sync.Once
	e.sd.done = func(m string) {
		if m == method {
			o.Do(fn)
		}
	}
}

// TestConflicts: an operation that another writer undoes before it
// replies does not report success: it fails with ErrConflict naming what
// it found, and a schedule deleted meanwhile takes its timers with it.
func TestConflicts(t *testing.T) {
	ctx := context.Background()
	t.Run("snapm re-enables while the daemon disables", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "racy", "daily")); err != nil {
			t.Fatal(err)
		}
		const unit = "snapm-create@racy.timer"
		var o sync.Once
		e.sd.done = func(m string) {
			if m == "DisableUnit" && e.disk(t, "snapm-gc@racy.timer") != "no drop-in" {
				// The gc timer's disable: snapm enables the create timer again.
				o.Do(func() {
					if err := dropin.Write(e.unitDir, unit, "daily"); err != nil {
						t.Error(err)
					}
					if err := os.Symlink("/usr/lib/systemd/system/snapm-create@.timer", e.sd.wantsLink(unit)); err != nil {
						t.Error(err)
					}
				})
			}
		}
		err := e.m.DisableSchedule(ctx, "racy")
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), unit+" should be disabled, but is ") {
			t.Errorf("DisableSchedule undone meanwhile: %v, want ErrConflict naming the state found", err)
		}
	})
	t.Run("snapm deletes the schedule while the daemon enables it", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "doomed", "daily")); err != nil {
			t.Fatal(err)
		}
		if err := e.m.DisableSchedule(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		e.once("EnableUnit", func() {
			if err := os.Remove(schedule.Path(e.schedules, "doomed")); err != nil {
				t.Error(err)
			}
		})
		err := e.m.EnableSchedule(ctx, "doomed", true)
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "deleted meanwhile") {
			t.Errorf("EnableSchedule of a schedule deleted meanwhile: %v, want ErrConflict", err)
		}
		if left := e.m.List(); len(left) != 0 {
			t.Errorf("timers left of a deleted schedule: %v", left)
		}
		for _, unit := range []string{"snapm-create@doomed.timer", "snapm-gc@doomed.timer"} {
			if got := e.disk(t, unit); got != "no drop-in" {
				t.Errorf("%s left: %s", unit, got)
			}
		}
	})
	t.Run("snapm edits the calendar while the daemon sets it", func(t *testing.T) {
		e := newEnv(t, nil)
		s := mustCreate(t, e, "create", "edited", "daily")
		if _, err := e.m.Enable(ctx, s.Key); err != nil {
			t.Fatal(err)
		}
		e.once("UnitState", func() { e.schedule(t, "edited", "weekly") })
		_, err := e.m.SetCalendarSpec(ctx, s.Key, "monthly")
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `calendarspec is now "weekly"`) {
			t.Errorf("SetCalendarSpec with the schedule edited meanwhile: %v, want ErrConflict", err)
		}
	})
}

// TestDropInChangedMidCallFollowed: snapm rewrites the drop-in while the
// daemon sets the calendar: the call reports the conflict, and once it is
// over the schedule's file says what the drop-in, which systemd runs,
// says.
func TestDropInChangedMidCallFollowed(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := mustCreate(t, e, "create", "midcall", "daily")
	if _, err := e.m.Enable(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	e.once("UnitState", func() {
		if err := dropin.Write(e.unitDir, s.Unit(), "weekly"); err != nil {
			t.Error(err)
		}
	})
	_, err := e.m.SetCalendarSpec(ctx, s.Key, "monthly")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `its calendar is now "weekly"`) {
		t.Errorf("SetCalendarSpec with the drop-in rewritten meanwhile: %v, want ErrConflict", err)
	}
	if got, err := schedule.Read(e.schedules, "midcall"); err != nil || got.CalendarSpec != "weekly" {
		t.Errorf("schedule after the call: %+v (%v), want the drop-in's weekly", got, err)
	}
}

// TestDropInEditFollowedIntoSchedule: a create timer's drop-in changed by
// someone else is what systemd runs, and goes into its schedule's file,
// which snapm would otherwise write back at its next enable.
func TestDropInEditFollowedIntoSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := mustCreate(t, e, "create", "hand", "daily")
	if _, err := e.m.Enable(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	if err := dropin.Write(e.unitDir, s.Unit(), "Sat 09:00"); err != nil {
		t.Fatal(err)
	}
	e.m.DiskChanged(ctx, []string{s.Unit()})
	if got, err := schedule.Read(e.schedules, "hand"); err != nil || got.CalendarSpec != "Sat 09:00" {
		t.Errorf("schedule after a hand edit of the drop-in: %+v (%v), want calendarspec Sat 09:00", got, err)
	}
}

// TestFailedScheduleCallsChangeNothing: a CreateSchedule that cannot
// enable its timers leaves no file and no timer; an Enable that cannot
// start them leaves them disabled, as they were.
func TestFailedScheduleCallsChangeNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.sd.setFail("EnableUnit", errInjected)
	if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "failing", "daily")); !errors.Is(err, errInjected) {
		t.Errorf("CreateSchedule with EnableUnit failing: %v", err)
	}
	if _, err := os.Stat(schedule.Path(e.schedules, "failing")); !errors.Is(err, os.ErrNotExist) || len(e.m.List()) != 0 {
		t.Errorf("a failed CreateSchedule left its file (%v) or timers %v", err, e.m.List())
	}
	e.sd.setFail("EnableUnit", nil)
	if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "failing", "daily")); err != nil {
		t.Fatal(err)
	}
	if err := e.m.DisableSchedule(ctx, "failing"); err != nil {
		t.Fatal(err)
	}
	e.sd.setFail("StartUnit", errInjected)
	if err := e.m.EnableSchedule(ctx, "failing", true); !errors.Is(err, errInjected) {
		t.Errorf("EnableSchedule with StartUnit failing: %v", err)
	}
	for _, s := range e.m.List() {
		if s.Status != StatusDisabled {
			t.Errorf("after a failed EnableSchedule %s is %s, want disabled as it was", s.Unit(), s.Status)
		}
	}
}
