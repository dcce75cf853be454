// Success means it held: an operation on a schedule, or on a create
// timer's calendar, checks before it replies that what it promised is
// what the disk and systemd say, and reports ErrConflict naming what it
// found when another writer (snapm, a hand) changed it meanwhile.
//
// Locks: the checks run under the schedule's operation lock, and read
// each timer under its own, as the operations do.

package timers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// promise is what an operation left a timer in; gone says whether a
// timer that is not there keeps it.
type promise struct {
	what string
	gone bool
	held func(s Snapshot, spec string) bool
}

var (
	promiseEnabled = promise{"enabled", false, func(s Snapshot, spec string) bool {
		return (s.Status == StatusEnabled || s.Status == StatusRunning) && s.Spec == spec
	}}
	promiseRunning = promise{"running", false, func(s Snapshot, spec string) bool {
		return s.Status == StatusRunning && s.Spec == spec
	}}
	promiseStopped  = promise{"stopped", true, func(s Snapshot, _ string) bool { return !s.Running }}
	promiseDisabled = promise{"disabled", true, func(s Snapshot, _ string) bool { return s.Status == StatusDisabled }}
)

// verify checks that the schedule s (as the operation wrote or read it)
// is still on disk and, unless the operation failed with opErr, that
// both its timers are as p says, read afresh; the caller holds e's
// operation lock. A schedule deleted meanwhile takes the timers the
// operation made or enabled with it, as `snapm schedule delete` would
// have, whether the operation failed (snapm's removal under its feet) or
// not.
func (m *Manager) verify(ctx context.Context, e *schedEntry, s schedule.Schedule, p promise, opErr error) error {
	found, present, err := m.readSchedule(s.Name)
	switch {
	case opErr != nil && present:
		return opErr
	case err != nil:
		return fmt.Errorf("%w: schedule %s: %w", ErrConflict, s.Name, err)
	case !present:
		return errors.Join(fmt.Errorf("%w: schedule %s was deleted meanwhile; its timers were disabled and removed", ErrConflict, s.Name),
			opErr, m.deleted(ctx, e, s.Name))
	case !equalSchedules(found, s):
		m.set(e, s.Name, found, true)
		return fmt.Errorf("%w: schedule %s was changed meanwhile; its file now says calendarspec %q, sources %q, policy %s",
			ErrConflict, s.Name, found.CalendarSpec, strings.Join(found.Sources, " "), found.PolicyType)
	}
	for _, key := range ScheduleKeys(s.Name) {
		// What is, not what is published: a state held back may be the
		// other writer's.
		var snap Snapshot
		_, err := m.housekeep(ctx, key, 0, func(t *Timer) (bool, error) {
			err := m.refresh(ctx, t, ReadAll)
			t.mu.Lock()
			snap = t.derive()
			t.mu.Unlock()
			return true, err
		})
		if errors.Is(err, ErrNoSuchTimer) && p.gone {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: reading %s back: %w", ErrConflict, key, err)
		}
		if !p.held(snap, scheduleSpec(s, key.Type)) {
			return fmt.Errorf("%w: %s should be %s, but is %s (%s)", ErrConflict, key, p.what, snap.Status, describe(snap))
		}
	}
	return nil
}

// describe names what a timer is, for a conflict's message.
func describe(s Snapshot) string {
	out := []string{"calendar " + fmt.Sprintf("%q", s.Spec)}
	if !s.Enabled {
		out = append(out, "unit file not enabled")
	}
	if s.Running {
		out = append(out, "active")
	} else {
		out = append(out, "inactive")
	}
	return strings.Join(out, ", ")
}

// followDropIn writes the calendar of a create timer's drop-in, which
// someone else changed, into its schedule's file: the drop-in is what
// systemd runs, and snapm would write the file's calendar back at its
// next enable. A schedule in an operation follows once it is over (see
// schedEntry.follow).
func (m *Manager) followDropIn(key Key) {
	if key.Type != TypeCreate {
		return
	}
	e, unlock, ok := m.tryLockSchedule(key.Name)
	if !ok {
		m.schedMu.Lock()
		e.follow = true
		m.schedMu.Unlock()
		return
	}
	m.syncCalendar(e, key.Name)
	unlock()
}

// syncCalendar makes the calendar of the create timer's drop-in, if there
// is one, the schedule's; the caller holds e's operation lock.
func (m *Manager) syncCalendar(e *schedEntry, name string) {
	key := Key{Type: TypeCreate, Name: name}
	spec, dropIn, err := dropin.Read(m.cfg.UnitDir, key.Unit())
	if err != nil || !dropIn {
		return
	}
	s, present, err := m.readSchedule(name)
	if err != nil || !present {
		return
	}
	if err := m.writeCalendar(e, s, spec); err != nil {
		m.log.Warn("writing the calendar of a drop-in changed outside into its schedule, ignoring", zap.Stringer("unit", key), zap.Error(err))
	}
}
