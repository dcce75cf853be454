// The operations on a schedule, each what the `snapm schedule` subcommand
// of that name does, in snapm's order (snapm/manager/_manager.py,
// Scheduler): create writes the file, then enables and starts both
// timers; edit writes the file, stops and disables the old timers, and
// enables and starts the new; delete stops and disables both, then removes
// the file.
//
// Locks: the schedule's operation lock is held from start to finish, and
// each timer's in turn inside it (see schedules.go).

package timers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// ScheduleKeys are the keys of a schedule's two timers, in snapm's order.
func ScheduleKeys(name string) []Key {
	return []Key{{Type: TypeCreate, Name: name}, {Type: TypeGC, Name: name}}
}

// CheckSchedule validates a would-be schedule completely, as `snapm
// schedule create` does, without making it: authorization runs between
// validation and any change.
func (m *Manager) CheckSchedule(name string, sources []string, spec string, opts schedule.Options) (schedule.Schedule, error) {
	if err := ValidateName(name); err != nil {
		return schedule.Schedule{}, err
	}
	s, err := schedule.New(name, sources, spec, opts)
	if err != nil {
		return schedule.Schedule{}, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if _, err := m.parseCalendar(spec); err != nil {
		return schedule.Schedule{}, fmt.Errorf("schedule %s: %w", name, err)
	}
	return s, nil
}

// GetSchedule returns the schedule name as last read or written.
func (m *Manager) GetSchedule(name string) (schedule.Schedule, error) {
	m.schedMu.Lock()
	defer m.schedMu.Unlock()
	if e := m.scheds[name]; e != nil && e.present {
		return e.sched, nil
	}
	return schedule.Schedule{}, fmt.Errorf("%w: %q", ErrNoSuchSchedule, name)
}

// CreateSchedule writes s (from CheckSchedule) and enables and starts its
// two timers.
func (m *Manager) CreateSchedule(ctx context.Context, s schedule.Schedule) error {
	e, unlock, err := m.lockSchedule(ctx, s.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if _, present, _ := m.readSchedule(s.Name); present {
		return fmt.Errorf("%w: %s", ErrScheduleExists, schedule.Path(m.cfg.ScheduleDir, s.Name))
	}
	if err := schedule.Write(m.cfg.ScheduleDir, s); err != nil {
		return fmt.Errorf("%w: writing schedule %s: %w", ErrIO, s.Name, err)
	}
	m.set(e, s.Name, s, true)
	crashpoint.Hit(crashpoint.ScheduleFileWritten)
	m.log.Info("schedule created", zap.String("schedule", s.Name))
	if err := m.enableSchedule(ctx, s, true); err != nil {
		// All or nothing: a schedule whose timers could not be made is
		// not left behind to be listed.
		m.undoCreate(ctx, e, s.Name)
		return err
	}
	return m.verify(ctx, e, s, promiseRunning, nil)
}

// undoCreate takes away the timers and the file a failed CreateSchedule
// made; the caller holds e's operation lock.
func (m *Manager) undoCreate(ctx context.Context, e *schedEntry, name string) {
	if err := m.removeTimers(ctx, name); err != nil {
		m.log.Warn("rolling back a new schedule: removing its timers", zap.String("schedule", name), zap.Error(err))
	}
	if err := schedule.Remove(m.cfg.ScheduleDir, name); err != nil {
		m.log.Warn("rolling back a new schedule: removing its file", zap.String("schedule", name), zap.Error(err))
	}
	m.set(e, name, schedule.Schedule{}, false)
}

// scheduleOp runs fn on the schedule name under its operation lock.
func (m *Manager) scheduleOp(ctx context.Context, name string, fn func(e *schedEntry, s schedule.Schedule) error) error {
	e, unlock, err := m.lockSchedule(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	s, present, err := m.readSchedule(name)
	switch {
	case err != nil:
		m.set(e, name, schedule.Schedule{}, false)
		return fmt.Errorf("%w: %s: %w", ErrNoSuchSchedule, name, err)
	case !present:
		return errors.Join(fmt.Errorf("%w: %s: no file %s", ErrNoSuchSchedule, name, schedule.Path(m.cfg.ScheduleDir, name)),
			m.deleted(ctx, e, name))
	}
	m.set(e, name, s, true)
	return fn(e, s)
}

// EnableSchedule enables both timers, and starts them if start.
func (m *Manager) EnableSchedule(ctx context.Context, name string, start bool) error {
	return m.scheduleOp(ctx, name, func(e *schedEntry, s schedule.Schedule) error {
		p := promiseEnabled
		if start {
			p = promiseRunning
		}
		return m.verify(ctx, e, s, p, m.enableOrUndo(ctx, s, start))
	})
}

// enableSchedule enables s's timers with s's calendars, making them if
// they are not there yet, and starts them if start; the caller holds the
// schedule's operation lock. A new timer is announced once, as it ends up.
func (m *Manager) enableSchedule(ctx context.Context, s schedule.Schedule, start bool) error {
	flags := CreateEnable
	if start {
		flags |= CreateStart
	}
	for _, key := range ScheduleKeys(s.Name) {
		spec := scheduleSpec(s, key.Type)
		if _, err := m.timer(key); err != nil {
			cal, err := m.parseCalendar(spec)
			if err != nil {
				return fmt.Errorf("schedule %s: %w", s.Name, err)
			}
			if _, err := m.insertConfigured(ctx, m.newTimer(key, spec, cal, nil), flags); err != nil {
				return err
			}
			continue
		}
		_, err := m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
			t.mu.Lock()
			same := t.spec == spec
			t.mu.Unlock()
			if !same {
				cal, err := m.parseCalendar(spec)
				if err != nil {
					return false, fmt.Errorf("schedule %s: %w", s.Name, err)
				}
				t.setCalendar(spec, cal, nil)
				if err := m.store.put(key.record(spec)); err != nil {
					return false, err
				}
				m.pokeElapses()
			}
			fresh, err := m.enableMarked(ctx, t)
			if err != nil || !start {
				return fresh, err
			}
			if !fresh {
				if err := m.refresh(ctx, t, ReadUnit); err != nil {
					return false, err
				}
			}
			return true, m.start(ctx, t)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// enableOrUndo is enableSchedule that, if it fails, disables again the
// timers that were disabled before, so that a failed call leaves the
// schedule as it was (or as the writer that made it fail left it).
func (m *Manager) enableOrUndo(ctx context.Context, s schedule.Schedule, start bool) error {
	var wereOff []Key
	for _, key := range ScheduleKeys(s.Name) {
		if snap, err := m.Get(string(key.Type), key.Name); err != nil || snap.Status == StatusDisabled {
			wereOff = append(wereOff, key)
		}
	}
	err := m.enableSchedule(ctx, s, start)
	if err == nil {
		return nil
	}
	for _, key := range wereOff {
		if _, err := m.Disable(ctx, key); err != nil && !errors.Is(err, ErrNoSuchTimer) {
			m.log.Warn("rolling back a failed enable: disabling the timer", zap.Stringer("unit", key), zap.Error(err))
		}
	}
	return err
}

// StartSchedule starts both timers.
func (m *Manager) StartSchedule(ctx context.Context, name string) error {
	return m.eachTimer(ctx, name, m.Start, promiseRunning)
}

// StopSchedule stops both timers; they stay enabled.
func (m *Manager) StopSchedule(ctx context.Context, name string) error {
	return m.eachTimer(ctx, name, m.Stop, promiseStopped)
}

// DisableSchedule stops and disables both timers.
func (m *Manager) DisableSchedule(ctx context.Context, name string) error {
	return m.eachTimer(ctx, name, m.Disable, promiseDisabled)
}

// eachTimer runs op on each of the schedule's timers in snapm's order,
// under the schedule's operation lock, and checks that p holds; a timer
// that is not there is skipped where that keeps p (nothing to stop or
// disable).
func (m *Manager) eachTimer(ctx context.Context, name string, op func(context.Context, Key) (Snapshot, error), p promise) error {
	return m.scheduleOp(ctx, name, func(e *schedEntry, s schedule.Schedule) error {
		var opErr error
		for _, key := range ScheduleKeys(name) {
			_, err := op(ctx, key)
			if errors.Is(err, ErrNoSuchTimer) && !p.gone {
				opErr = fmt.Errorf("%w: %s (Enable the schedule first)", ErrNotEnabled, err)
				break
			}
			if err != nil && !errors.Is(err, ErrNoSuchTimer) {
				opErr = err
				break
			}
		}
		return m.verify(ctx, e, s, p, opErr)
	})
}

// CheckEdit validates changes to the schedule name as `snapm schedule
// edit` would, without making them.
func (m *Manager) CheckEdit(name string, changes schedule.Options) (schedule.Schedule, error) {
	s, err := m.GetSchedule(name)
	if err != nil {
		return schedule.Schedule{}, err
	}
	return m.edited(s, changes)
}

func (m *Manager) edited(s schedule.Schedule, changes schedule.Options) (schedule.Schedule, error) {
	next, err := s.Edit(changes)
	if err != nil {
		return schedule.Schedule{}, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if _, err := m.parseCalendar(next.CalendarSpec); err != nil {
		return schedule.Schedule{}, fmt.Errorf("schedule %s: %w", s.Name, err)
	}
	return next, nil
}

// EditSchedule applies changes as `snapm schedule edit` does: the file is
// written, the old timers stopped and disabled, and the new ones enabled
// and started.
func (m *Manager) EditSchedule(ctx context.Context, name string, changes schedule.Options) error {
	return m.scheduleOp(ctx, name, func(e *schedEntry, s schedule.Schedule) error {
		next, err := m.edited(s, changes)
		if err != nil {
			return err
		}
		if err := schedule.Write(m.cfg.ScheduleDir, next); err != nil {
			return fmt.Errorf("%w: writing schedule %s: %w", ErrIO, name, err)
		}
		m.set(e, name, next, true)
		crashpoint.Hit(crashpoint.ScheduleFileWritten)
		for _, key := range ScheduleKeys(name) {
			if _, err := m.Disable(ctx, key); err != nil && !errors.Is(err, ErrNoSuchTimer) {
				return err
			}
		}
		m.log.Info("schedule edited", zap.String("schedule", name))
		return m.verify(ctx, e, next, promiseRunning, m.enableSchedule(ctx, next, true))
	})
}

// DeleteSchedule stops and disables both timers, removes them, and then
// the schedule's file.
func (m *Manager) DeleteSchedule(ctx context.Context, name string) error {
	return m.scheduleOp(ctx, name, func(e *schedEntry, _ schedule.Schedule) error {
		if err := m.removeTimers(ctx, name); err != nil {
			return err
		}
		// The file it was read from, as snapm's delete_config: a file
		// holds the schedule it names, whatever its own name.
		file, _, present, _ := m.findSchedule(name)
		if !present {
			file = name + ".json"
		}
		if err := schedule.Remove(m.cfg.ScheduleDir, strings.TrimSuffix(file, ".json")); err != nil {
			return fmt.Errorf("%w: removing schedule %s: %w", ErrIO, name, err)
		}
		m.set(e, name, schedule.Schedule{}, false)
		m.log.Info("schedule deleted", zap.String("schedule", name))
		for _, key := range ScheduleKeys(name) {
			if snap, err := m.Get(string(key.Type), key.Name); err == nil {
				return fmt.Errorf("%w: %s was made again meanwhile: %s (%s)", ErrConflict, key, snap.Status, describe(snap))
			}
		}
		return nil
	})
}
