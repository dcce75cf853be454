// The timers of a schedule file alone: a schedule snapm can load brings
// its two timers, whatever else of them exists, so that a file written
// by hand, restored from a backup, or left by a `snapm schedule create`
// cut short before its drop-ins shows both, disabled, with its calendars.
// Such a timer is unclaimed until a CreateTimer takes it over (it has no
// record: the file is what brings it back at a restart), and a
// RemoveTimer of a timer whose schedule stays leaves it as its schedule
// makes it.
//
// Locks: the schedule's operation lock is held, then each timer's, in
// that order (see schedules.go).

package timers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// scheduledTimer is the timer key of schedule s, made from the file
// alone.
func (m *Manager) scheduledTimer(key Key, s schedule.Schedule) *Timer {
	t := m.adoptedTimer(key, scheduleSpec(s, key.Type))
	t.unclaimed = true
	return t
}

// adoptScheduled makes at start-up the timers of the schedules that
// nothing else has brought (Adopt reads them with the rest).
func (m *Manager) adoptScheduled() {
	scheds := m.scheduled()
	// In the order of their names, as Adopt's own (Instance numbers).
	for _, name := range slices.Sorted(maps.Keys(scheds)) {
		for _, key := range ScheduleKeys(name) {
			if _, err := m.timer(key); err != nil {
				m.adopt(m.scheduledTimer(key, scheds[name]))
			}
		}
	}
}

// bringTimers makes, while running, the timers of schedule s that are not
// known yet; the caller holds the schedule's operation lock.
func (m *Manager) bringTimers(ctx context.Context, s schedule.Schedule) {
	for _, key := range ScheduleKeys(s.Name) {
		if _, err := m.timer(key); err != nil && m.takeIn(ctx, m.scheduledTimer(key, s), func(*Timer) bool { return true }) {
			m.log.Info("timer of a schedule file", zap.Stringer("unit", key), zap.String("calendar", scheduleSpec(s, key.Type)))
		}
	}
}

// takeIn reads t, new, in full and, if keep says it still exists, makes
// it known and announces it, so that its first appearance is true; kept is
// false when keep refused it or another made the timer meanwhile.
func (m *Manager) takeIn(ctx context.Context, t *Timer, keep func(*Timer) bool) (kept bool) {
	defer func() {
		if !kept {
			m.cfg.Systemd.Unfollow(t.key)
		}
	}()
	unlock, err := t.lock(ctx) // new, so free unless ctx is over
	if err != nil {
		return false
	}
	defer unlock()
	if err := m.refresh(ctx, t, ReadAll); err != nil {
		t.log.Warn("reading systemd state of a new timer, ignoring", zap.Error(err))
	}
	if !keep(t) {
		return false
	}
	m.mu.Lock()
	if m.timers[t.key] != nil {
		m.mu.Unlock()
		return false // created or adopted meanwhile
	}
	m.timers[t.key] = t
	m.mu.Unlock()
	m.announce(t)
	m.pokeElapses()
	return true
}

// takeOver makes the unclaimed timer key of schedule sched the caller's,
// as CreateWithFlags would have made it: with spec (a create timer's
// becomes the schedule's too), recorded, and enabled and started as f
// says. A failure leaves it as it was. The caller holds the schedule's
// operation lock (e).
func (m *Manager) takeOver(ctx context.Context, e *schedEntry, sched schedule.Schedule, key Key, spec string, cal calendar.Info, f CreateFlags) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		t.mu.Lock()
		unclaimed, was, wasCal, wasErr := t.unclaimed, t.spec, t.cal, t.calErr
		t.mu.Unlock()
		if !unclaimed {
			return true, fmt.Errorf("%w: %s", ErrTimerExists, key)
		}
		diskSpec, present, err := dropin.Read(m.cfg.UnitDir, key.Unit())
		if err != nil {
			return true, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, key, err)
		}
		if present {
			return true, fmt.Errorf("%w: %s is already configured on disk (with %q)", ErrTimerExists, key, diskSpec)
		}
		if key.Type == TypeCreate {
			if err := m.writeCalendar(e, sched, spec); err != nil {
				return true, err
			}
		}
		t.setCalendar(spec, cal, nil)
		if f == 0 {
			if err = m.store.put(key.record(spec)); err == nil {
				m.makeDropInDir(t)
			}
		} else {
			err = m.configure(ctx, t, f)
		}
		if err != nil {
			m.giveBack(ctx, e, sched, t, was, wasCal, wasErr)
			return false, err
		}
		t.mu.Lock()
		t.unclaimed = false
		t.mu.Unlock()
		m.pokeElapses()
		return f != 0, nil // configure published what it left
	})
}

// giveBack undoes a failed takeOver of t: disabled (enable undoes
// itself, but start does not), unrecorded, and with its schedule's
// calendar back.
func (m *Manager) giveBack(ctx context.Context, e *schedEntry, sched schedule.Schedule, t *Timer, spec string, cal calendar.Info, calErr error) {
	if _, dropIn, _ := dropin.Read(m.cfg.UnitDir, t.key.Unit()); dropIn {
		if err := m.disable(ctx, t); err != nil {
			t.log.Warn("rolling back CreateTimer: disabling the timer", zap.Error(err))
		}
	}
	if err := m.store.remove(t.key); err != nil {
		t.log.Warn("rolling back CreateTimer: forgetting the record", zap.Error(err))
	}
	if t.key.Type == TypeCreate {
		now, _ := m.current(e)
		if err := m.writeCalendar(e, now, sched.CalendarSpec); err != nil {
			t.log.Warn("rolling back CreateTimer: the schedule's calendar", zap.Error(err))
		}
	}
	t.setCalendar(spec, cal, calErr)
}

// Remove disables the timer if needed and forgets it; if its schedule
// stays, it comes back as the schedule's timer, disabled and unclaimed,
// as the schedule file alone would bring it at a restart.
func (m *Manager) Remove(ctx context.Context, key Key) error {
	e, unlock, err := m.lockSchedule(ctx, key.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.remove(ctx, key); err != nil {
		return err
	}
	s, present, err := m.readSchedule(key.Name)
	if err != nil || !present {
		return nil
	}
	m.set(e, key.Name, s, true)
	m.bringTimers(ctx, s)
	return nil
}

// removeTimers removes the timers of schedule name; the caller holds its
// operation lock, and removes or has removed its file.
func (m *Manager) removeTimers(ctx context.Context, name string) error {
	var errs []error
	for _, key := range ScheduleKeys(name) {
		if err := m.remove(ctx, key); err != nil && !errors.Is(err, ErrNoSuchTimer) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
