// The schedules: snapm's schedule files (schedule.d/NAME.json) as the
// daemon knows them, read at start-up and followed as they change on disk,
// and the lookups the timer operations make in them.
//
// Locks: each schedule name has an operation lock (schedEntry.op), held by
// every operation on the schedule and by timer operations that change its
// file; it is taken before any timer's operation lock, never after.
// Manager.schedMu guards the map of entries and each entry's fields, and is
// held only to read or change them.

package timers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// ScheduleObserver hears about every change of the schedules, in order per
// schedule. It is called with the schedule's operation lock held; it must
// not call back into the Manager.
type ScheduleObserver interface {
	ScheduleAdded(s schedule.Schedule)
	ScheduleChanged(s schedule.Schedule)
	ScheduleRemoved(name string)
}

// schedEntry is one schedule name: its operation lock, and the schedule
// as last read from or written to its file.
type schedEntry struct {
	op      chan struct{}
	present bool
	sched   schedule.Schedule
	// file is the file of the schedule directory it was last read from,
	// "" when none.
	file string
	// follow: the create timer's drop-in was changed by someone else
	// while the schedule was in an operation; whoever lets go of the
	// operation lock writes its calendar into the file (followDropIn).
	follow bool
}

// entry returns name's entry, made on first use. Entries are kept for the
// names ever seen, so that a lock is never replaced while someone waits
// on it.
func (m *Manager) entry(name string) *schedEntry {
	m.schedMu.Lock()
	defer m.schedMu.Unlock()
	e := m.scheds[name]
	if e == nil {
		e = &schedEntry{op: make(chan struct{}, 1)}
		m.scheds[name] = e
	}
	return e
}

// lockSchedule takes name's operation lock, giving up when ctx ends.
func (m *Manager) lockSchedule(ctx context.Context, name string) (e *schedEntry, unlock func(), err error) {
	e = m.entry(name)
	select {
	case e.op <- struct{}{}:
		return e, func() { m.unlockSchedule(e, name) }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// tryLockSchedule takes name's operation lock if it is free.
func (m *Manager) tryLockSchedule(name string) (e *schedEntry, unlock func(), ok bool) {
	e = m.entry(name)
	select {
	case e.op <- struct{}{}:
		return e, func() { m.unlockSchedule(e, name) }, true
	default:
		return e, nil, false
	}
}

// unlockSchedule lets go of e's operation lock, once it has followed a
// drop-in changed meanwhile (see schedEntry.follow).
func (m *Manager) unlockSchedule(e *schedEntry, name string) {
	m.schedMu.Lock()
	follow := e.follow
	e.follow = false
	m.schedMu.Unlock()
	if follow {
		m.syncCalendar(e, name)
	}
	<-e.op
}

// current returns the schedule as the daemon last knew it.
func (m *Manager) current(e *schedEntry) (schedule.Schedule, bool) {
	m.schedMu.Lock()
	defer m.schedMu.Unlock()
	return e.sched, e.present
}

// set records what the schedule is now and tells the observer; the caller
// holds e's operation lock, so the observer hears changes in order.
func (m *Manager) set(e *schedEntry, name string, s schedule.Schedule, present bool) {
	m.schedMu.Lock()
	was, wasPresent := e.sched, e.present
	e.sched, e.present = s, present
	m.schedMu.Unlock()
	switch {
	case present && !wasPresent:
		m.cfg.Schedules.ScheduleAdded(s)
	case present && !equalSchedules(was, s):
		m.cfg.Schedules.ScheduleChanged(s)
	case !present && wasPresent:
		m.cfg.Schedules.ScheduleRemoved(name)
	}
}

func equalSchedules(a, b schedule.Schedule) bool {
	return a.Name == b.Name && slices.Equal(a.Sources, b.Sources) && a.DefaultSizePolicy == b.DefaultSizePolicy &&
		a.Autoindex == b.Autoindex && a.CalendarSpec == b.CalendarSpec && a.Boot == b.Boot && a.Revert == b.Revert &&
		a.PolicyName == b.PolicyName && a.PolicyType == b.PolicyType && slices.Equal(a.Params, b.Params)
}

// readSchedule reads schedule name as snapm would load it (see
// findSchedule): present is false when no file holds it; err says why
// snapm could not load its file, which is there.
func (m *Manager) readSchedule(name string) (s schedule.Schedule, present bool, err error) {
	_, s, present, err = m.findSchedule(name)
	return s, present, err
}

// findSchedule returns the file of the schedule directory that holds
// schedule name, and what it holds. snapm 0.7 loads every *.json by the
// name inside it, whatever the file's name (Scheduler._load_schedules),
// and writes NAME.json: NAME.json is name's when it says so, and else any
// other file that does, the first by file name. A NAME.json that cannot
// be loaded, and no other file holding name, is err.
func (m *Manager) findSchedule(name string) (file string, s schedule.Schedule, present bool, err error) {
	own := name + ".json"
	s, ownErr := schedule.Read(m.cfg.ScheduleDir, name)
	if ownErr == nil && s.Name == name {
		return own, s, true, nil
	}
	// Read again as a whole: the directory is small, and this is the
	// path of a schedule with no file of its own name.
	loaded, _ := schedule.Load(m.cfg.ScheduleDir)
	for _, f := range slices.Sorted(maps.Keys(loaded)) {
		if f != own && loaded[f].Name == name {
			return f, loaded[f], true, nil
		}
	}
	if ownErr != nil && !errors.Is(ownErr, fs.ErrNotExist) {
		return own, schedule.Schedule{}, true, fmt.Errorf("%s: %w", schedule.Path(m.cfg.ScheduleDir, name), ownErr)
	}
	return "", schedule.Schedule{}, false, nil
}

// requireSchedule returns the schedule a timer operation needs, read
// afresh from its file: a timer whose schedule snapm cannot find can never
// run, as both templates run snapm with the schedule's name.
func (m *Manager) requireSchedule(e *schedEntry, key Key) (schedule.Schedule, error) {
	s, present, err := m.readSchedule(key.Name)
	if err != nil {
		return schedule.Schedule{}, fmt.Errorf("%w: %s: %w (create the schedule with CreateSchedule or `snapm schedule create`)", ErrNoSuchSchedule, key, err)
	}
	if !present {
		return schedule.Schedule{}, fmt.Errorf("%w: %s has no schedule %s: create the schedule with CreateSchedule or `snapm schedule create`, which make both timers",
			ErrNoSuchSchedule, key, schedule.Path(m.cfg.ScheduleDir, key.Name))
	}
	m.set(e, key.Name, s, true)
	return s, nil
}

// scheduleSpec is the calendar a schedule gives the timer of type typ.
func scheduleSpec(s schedule.Schedule, typ Type) string {
	if typ == TypeGC {
		return schedule.GCCalendarSpec
	}
	return s.CalendarSpec
}

// checkTimerSpec refuses, for a gc timer, any calendar but snapm's fixed
// one: snapm writes it back at every enable.
func checkTimerSpec(key Key, spec string) error {
	if key.Type == TypeGC && spec != schedule.GCCalendarSpec {
		return fmt.Errorf("%w: timer %s runs on snapm's fixed calendar %q, not %q", ErrInvalidArgument, key, schedule.GCCalendarSpec, spec)
	}
	return nil
}

// LoadSchedules reads every schedule file, as at start-up, each by the
// name inside it as snapm loads it (see findSchedule); a file snapm
// cannot load is logged and left out, and so is one the bus cannot show
// beside snapm: it names a schedule another file holds, or a name no
// timer can have.
func (m *Manager) LoadSchedules() {
	loaded, bad := schedule.Load(m.cfg.ScheduleDir)
	for file, err := range bad {
		m.log.Warn("schedule file snapm cannot load, ignoring it", zap.String("file", file), zap.Error(err))
	}
	files := map[string][]string{}
	for file, s := range loaded {
		files[s.Name] = append(files[s.Name], file)
	}
	for name, all := range files {
		slices.Sort(all)
		if i := slices.Index(all, name+".json"); i > 0 {
			all[0], all[i] = all[i], all[0]
		}
		if err := ValidateName(name); err != nil {
			for _, file := range all {
				m.log.Warn("schedule file names a schedule no timer can have, ignoring it", zap.String("file", file), zap.Error(err))
			}
			continue
		}
		for _, file := range all[1:] {
			m.log.Warn("schedule file names a schedule another file holds; snapm lists both, the bus the first",
				zap.String("file", file), zap.String("schedule", name), zap.String("first", all[0]))
		}
		e := m.entry(name)
		m.schedMu.Lock()
		e.file = all[0]
		m.schedMu.Unlock()
		m.set(e, name, loaded[all[0]], true)
	}
}

// scheduled returns the schedules known now, by name.
func (m *Manager) scheduled() map[string]schedule.Schedule {
	m.schedMu.Lock()
	defer m.schedMu.Unlock()
	out := make(map[string]schedule.Schedule, len(m.scheds))
	for name, e := range m.scheds {
		if e.present {
			out[name] = e.sched
		}
	}
	return out
}

// ScheduleNames maps the names of files changed in the schedule
// directory to the schedules they are; ok is false for any other file
// (snapm's temporary ".tmp_*" and ours, which do not end in ".json",
// among them). A hidden ".x.json" is schedule ".x", as snapm loads it.
func ScheduleNames(file string) (name string, ok bool) {
	name, ok = strings.CutSuffix(file, ".json")
	return name, ok && schedule.ValidateName(name) == nil
}

// SchedulesChanged reads again the schedules named, or every one when
// names is nil: a new file becomes a schedule, a changed one changes it,
// and one removed (or that snapm can no longer load) takes with it the
// timers of which nothing else is left. busy are the names whose schedule
// is in an operation: ask again later.
func (m *Manager) SchedulesChanged(ctx context.Context, names []string) (busy []string) {
	if names == nil {
		all := map[string]bool{}
		for name := range m.scheduled() {
			all[name] = true
		}
		entries, err := os.ReadDir(m.cfg.ScheduleDir)
		if err != nil {
			m.log.Warn("listing the schedule directory, ignoring", zap.Error(err))
		}
		for _, de := range entries {
			if name, ok := ScheduleNames(de.Name()); ok {
				all[name] = true
			}
		}
		for name := range all {
			names = append(names, name)
		}
	}
	for _, name := range m.namedBy(names) {
		e, unlock, ok := m.tryLockSchedule(name)
		if !ok {
			busy = append(busy, name)
			continue
		}
		m.reread(ctx, e, name)
		unlock()
	}
	return busy
}

// namedBy adds to the file names changed (NAME.json, as NAME) the
// schedules they held and hold now: snapm loads a file by the name
// inside it.
func (m *Manager) namedBy(files []string) []string {
	names := slices.Clone(files)
	m.schedMu.Lock()
	for name, e := range m.scheds {
		if e.present && slices.Contains(files, strings.TrimSuffix(e.file, ".json")) {
			names = append(names, name)
		}
	}
	m.schedMu.Unlock()
	for _, file := range files {
		if s, err := schedule.Read(m.cfg.ScheduleDir, file); err == nil && ValidateName(s.Name) == nil {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// reread brings e up to date with its file; the caller holds e's
// operation lock.
func (m *Manager) reread(ctx context.Context, e *schedEntry, name string) {
	file, s, present, err := m.findSchedule(name)
	m.schedMu.Lock()
	e.file = file
	m.schedMu.Unlock()
	if err != nil {
		m.log.Warn("schedule file snapm cannot load, ignoring it", zap.String("file", schedule.Path(m.cfg.ScheduleDir, name)), zap.Error(err))
		present = false
	}
	was, wasPresent := m.current(e)
	if present {
		// First, so that the schedule, once shown, names objects.
		m.bringTimers(ctx, s)
	}
	if present || err != nil {
		m.set(e, name, s, present)
	}
	switch {
	case present && (!wasPresent || was.CalendarSpec != s.CalendarSpec):
		m.followCalendar(ctx, Key{Type: TypeCreate, Name: name}, s.CalendarSpec)
	case !present && err == nil:
		// A file that is there but cannot be loaded is no deletion: its
		// timers stay.
		if err := m.deleted(ctx, e, name); err != nil && ctx.Err() == nil {
			m.log.Warn("removing the timers of a deleted schedule, ignoring", zap.Error(err))
		}
	}
}

// deleted records that the file of schedule name is gone, and takes its
// timers with it, as `snapm schedule delete` does, disabling them first
// if they are not (a call of ours that enabled one while snapm deleted
// the schedule): neither template can run without the schedule. The
// caller holds e's operation lock.
func (m *Manager) deleted(ctx context.Context, e *schedEntry, name string) error {
	m.set(e, name, schedule.Schedule{}, false)
	return m.removeTimers(ctx, name)
}

// followCalendar gives a timer without a drop-in the calendar its schedule
// file now has: a drop-in, when there is one, is what systemd runs, and
// snapm rewrites it with the file.
func (m *Manager) followCalendar(ctx context.Context, key Key, spec string) {
	_, err := m.housekeep(ctx, key, 0, func(t *Timer) (bool, error) {
		t.mu.Lock()
		dropIn, same, unclaimed := t.dropIn, t.spec == spec, t.unclaimed
		t.mu.Unlock()
		if dropIn || same {
			return true, nil
		}
		cal, calErr := m.cfg.Calendar.Parse(spec, m.cfg.Now())
		t.mu.Lock()
		t.spec, t.cal, t.calErr = spec, cal, calErr
		t.publish(m.cfg.Observer)
		t.mu.Unlock()
		m.pokeElapses()
		if unclaimed {
			return true, nil // its file, not a record, keeps it
		}
		return true, m.store.put(key.record(spec))
	})
	if err != nil && !errors.Is(err, ErrNoSuchTimer) && ctx.Err() == nil {
		m.log.Warn("following the schedule's calendar, ignoring", zap.Stringer("unit", key), zap.Error(err))
	}
}

// forgetIfNothingLeft removes t, as just read, if nothing of it is left;
// the caller holds t's operation lock.
func (m *Manager) forgetIfNothingLeft(t *Timer) error {
	if !m.nothingLeft(t) {
		return nil
	}
	t.log.Info("nothing of the timer is left, removing it")
	return m.forget(t)
}

// nothingLeft tells whether nothing of t exists: no schedule file, no
// drop-in or UNIT.d, no enablement, no unit loaded; its record, which
// only the daemon reads, does not count. The caller holds t's operation
// lock.
func (m *Manager) nothingLeft(t *Timer) bool {
	t.mu.Lock()
	st, dropIn := t.unit, t.dropIn
	t.mu.Unlock()
	if dropIn || st.LoadState != "" || (st.UnitFileState != "" && st.UnitFileState != "disabled") {
		return false
	}
	if _, err := os.Lstat(dropin.Dir(m.cfg.UnitDir, t.key.Unit())); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, present, _ := m.readSchedule(t.key.Name)
	return !present
}

// writeCalendar makes spec the calendar in sched's file, if it is not
// already; the caller holds e's operation lock.
func (m *Manager) writeCalendar(e *schedEntry, sched schedule.Schedule, spec string) error {
	if sched.CalendarSpec == spec {
		return nil
	}
	next := sched.WithCalendarSpec(spec)
	if err := schedule.Write(m.cfg.ScheduleDir, next); err != nil {
		return fmt.Errorf("%w: writing schedule %s: %w", ErrIO, sched.Name, err)
	}
	m.set(e, sched.Name, next, true)
	return nil
}
