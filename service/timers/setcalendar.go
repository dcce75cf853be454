// SetCalendarSpec: a timer's new calendar, written to its schedule's file
// (a create timer's) and its drop-in, and read back.
//
// Locks: the schedule's operation lock, then the timer's (see ops.go).

package timers

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
)

// SetCalendarSpec changes the schedule. An enabled timer gets the new
// drop-in at once and systemd takes it; a running one keeps running.
func (m *Manager) SetCalendarSpec(ctx context.Context, key Key, spec string) (Snapshot, error) {
	cal, err := m.parseCalendar(spec)
	if err != nil {
		return Snapshot{}, fmt.Errorf("timer %s: %w", key, err)
	}
	if err := checkTimerSpec(key, spec); err != nil {
		return Snapshot{}, err
	}
	e, unlockSchedule, err := m.lockSchedule(ctx, key.Name)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlockSchedule()
	snap, err := m.setCalendarSpec(ctx, e, key, spec, cal)
	if err != nil || key.Type != TypeCreate {
		return snap, err
	}
	// What the call promised: the calendar in the schedule's file and in
	// the drop-in, which snapm may have rewritten meanwhile.
	if s, present, err := m.readSchedule(key.Name); err == nil && present && s.CalendarSpec != spec {
		m.set(e, key.Name, s, true)
		return snap, fmt.Errorf("%w: the schedule of %s was changed meanwhile; its calendarspec is now %q", ErrConflict, key, s.CalendarSpec)
	}
	if snap.Spec != spec {
		return snap, fmt.Errorf("%w: %s was changed meanwhile: its calendar is now %q", ErrConflict, key, snap.Spec)
	}
	return snap, nil
}

func (m *Manager) setCalendarSpec(ctx context.Context, e *schedEntry, key Key, spec string, cal calendar.Info) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		unit := t.key.Unit()
		t.mu.Lock()
		oldSpec, oldCal, oldErr, dropIn := t.spec, t.cal, t.calErr, t.dropIn
		t.mu.Unlock()
		if key.Type == TypeCreate {
			// The schedule's file first: snapm writes its calendar back
			// into the drop-in at every enable and edit, so a change of
			// the drop-in alone would be undone.
			if sched, present, err := m.readSchedule(key.Name); err != nil {
				return false, fmt.Errorf("%w: %w", ErrIO, err)
			} else if present {
				if err := m.writeCalendar(e, sched, spec); err != nil {
					return false, err
				}
			}
		}
		if dropIn {
			if err := dropin.Write(m.cfg.UnitDir, unit, spec); err != nil {
				return false, fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, err)
			}
			crashpoint.Hit(crashpoint.SetCalendarDropInWritten)
		}
		t.setCalendar(spec, cal, nil)
		if err := m.store.put(key.record(spec)); err != nil {
			t.setCalendar(oldSpec, oldCal, oldErr)
			if dropIn {
				if rerr := dropin.Write(m.cfg.UnitDir, unit, oldSpec); rerr != nil {
					t.log.Error("restoring drop-in after failed state save", zap.Error(rerr))
				}
			}
			return false, err
		}
		m.pokeElapses()
		fresh := false
		if dropIn {
			var err error
			if fresh, err = m.syncConfig(ctx, t, cal.Normalized, m.readSystemd(ctx, t, ReadUnit)); err != nil {
				return false, fmt.Errorf("reloading timer %s: %w", unit, err)
			}
		}
		t.log.Info("timer calendar changed", zap.String("calendar", spec))
		return fresh, nil
	})
}
