// Adoption: the timers found on disk at start-up (snapm's drop-ins and this
// service's own records) become objects.
//
// Locks: Adopt runs before the name is claimed, so no caller competes; it
// takes Manager.mu only to insert and to walk the timers, and leaves what
// the bulk read leaves out to the reader (intake.go), which takes each
// timer's operation lock in turn.

package timers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// Adopt takes over every timer found on disk: the drop-ins snapm (ours or
// the Python one) wrote, and the timers this service persisted. Call it
// after subscribing to systemd's signals, so no change slips between the
// read and the subscription.
func (m *Manager) Adopt(ctx context.Context) error {
	recs, bad, err := m.store.load()
	if err != nil {
		return fmt.Errorf("reading the state directory: %w", err)
	}
	for _, err := range bad {
		m.log.Warn("unreadable timer record, ignoring it", zap.Error(err))
	}
	records := map[Key]string{}
	for _, r := range recs {
		key, err := parseKey(string(r.Type), r.Name)
		if err != nil {
			m.log.Warn("invalid timer in state file, ignoring it", zap.Error(err))
			continue
		}
		if r.Creating && m.undoCreating(ctx, key, r.Spec) {
			continue
		}
		records[key] = r.Spec
	}
	m.finishInflight(ctx)
	entries, cleanErr, err := dropin.ScanAtStart(m.cfg.UnitDir, unitPrefixes()...)
	if err != nil {
		return fmt.Errorf("%w: scanning %s: %w", ErrIO, m.cfg.UnitDir, err)
	}
	if cleanErr != nil {
		m.log.Warn("removing temporary files left by a crash, ignoring", zap.Error(cleanErr))
	}
	dropIns := map[Key]dropin.Entry{}
	scheds := m.scheduled()
	for i, e := range entries {
		key, ok := ParseUnit(e.Unit)
		if !ok {
			m.log.Warn("drop-in of a unit with an unsupported name, ignoring it", zap.String("unit", e.Unit))
			continue
		}
		entries[i] = m.catchUpWithSchedule(key, e, scheds)
		dropIns[key] = entries[i]
	}
	// In the order of their units, so that adoption is the same every
	// time (Instance numbers included).
	for _, key := range adoptionOrder(records) {
		if _, ok := dropIns[key]; !ok {
			m.adopt(m.adoptedTimer(key, records[key]))
		}
	}
	for _, key := range adoptionOrder(dropIns) {
		m.adopt(m.adoptedDropIn(key, dropIns[key], records))
	}
	m.adoptScheduled()
	// What is found at start-up is published as it is: no snapm command
	// is known to be under way.
	m.mu.RLock()
	for _, t := range m.timers {
		t.mu.Lock()
		t.settleNow()
		t.mu.Unlock()
	}
	m.mu.RUnlock()
	if _, err := m.readInBulk(ctx, ReadAll, entries, false); err != nil {
		return err
	}
	m.forgetRecordsOnly(dropIns)
	if err := m.readBusyRuns(ctx); err != nil {
		m.log.Warn("reading the services' runs in progress, ignoring", zap.Error(err))
	}
	m.mu.RLock()
	for _, t := range m.timers {
		m.announce(t)
	}
	n := len(m.timers)
	m.mu.RUnlock()
	m.log.Info("adopted timers", zap.Int("timers", n), zap.Int("drop_ins", len(dropIns)))
	// What the bulk reads leave out (LastTrigger, systemd's own next
	// elapse and calendar, and then the last run of the services of
	// timers that have triggered) follows from the reader, without
	// holding up the name.
	m.mu.RLock()
	for _, t := range m.timers {
		t.mu.Lock()
		if t.unit.loaded() {
			m.owe(t, ReadUnit|readRun|readStale)
		}
		t.mu.Unlock()
	}
	m.mu.RUnlock()
	return nil
}

// catchUpWithSchedule rewrites, from its schedule file, the drop-in of a
// create timer that says another calendar: every writer (snapm's edit and
// enable, SetCalendarSpec, EditSchedule) writes the file first and the
// drop-in after, so they differ when a crash cut a change short, which is
// finished here as snapm's next enable would finish it. systemd takes it
// with the reload start-up owes a loaded timer (readStale).
func (m *Manager) catchUpWithSchedule(key Key, e dropin.Entry, scheds map[string]schedule.Schedule) dropin.Entry {
	s, ok := scheds[key.Name]
	if key.Type != TypeCreate || e.Err != nil || !ok || s.CalendarSpec == e.Spec {
		return e
	}
	log := m.log.With(zap.String("unit", e.Unit))
	if _, err := m.parseCalendar(s.CalendarSpec); err != nil {
		log.Warn("schedule file's calendar differs from the drop-in's and is invalid, keeping the drop-in", zap.Error(err))
		return e
	}
	if err := dropin.Write(m.cfg.UnitDir, e.Unit, s.CalendarSpec); err != nil {
		log.Warn("bringing the drop-in up to its schedule file, ignoring", zap.Error(err))
		return e
	}
	log.Info("drop-in behind its schedule file, a change cut short; rewritten",
		zap.String("calendar", s.CalendarSpec), zap.String("was", e.Spec))
	e.Spec = s.CalendarSpec
	return e
}

func (m *Manager) adopt(t *Timer) {
	m.mu.Lock()
	m.timers[t.key] = t
	m.mu.Unlock()
}

// adoptedDropIn makes the timer of a drop-in found on disk. The drop-in is
// what systemd runs: a record that says otherwise was written before the
// drop-in changed while we were not running, and is rewritten. A drop-in
// that cannot be read makes the timer invalid, with the record's
// expression if there is one.
func (m *Manager) adoptedDropIn(key Key, e dropin.Entry, records map[Key]string) *Timer {
	recSpec, recorded := records[key]
	if e.Err != nil {
		t := m.adoptedTimer(key, recSpec)
		t.dropIn, t.dropInErr = true, e.Err
		t.snap = t.derive()
		t.log.Warn("unreadable drop-in, the timer is invalid until it is written again", zap.Error(e.Err))
		return t
	}
	t := m.adoptedTimer(key, e.Spec)
	t.dropIn = true
	t.snap = t.derive()
	if recSpec != e.Spec {
		// Kept as the daemon's own are, so that a restart keeps it
		// whatever becomes of its drop-in.
		if recorded {
			t.log.Info("drop-in changed while the service was not running, saving it", zap.String("calendar", e.Spec), zap.String("was", recSpec))
		}
		if err := m.store.put(key.record(e.Spec)); err != nil {
			t.log.Warn("saving the timer, ignoring", zap.Error(err))
		}
	}
	return t
}

// adoptedTimer makes a timer for a spec found on disk, which may be one
// we would refuse from a caller: it is kept as it is, and its calendar
// error is logged and shown (status, Normalized) rather than hidden.
func (m *Manager) adoptedTimer(key Key, spec string) *Timer {
	cal, calErr := m.cfg.Calendar.Parse(spec, m.cfg.Now())
	t := m.newTimer(key, spec, cal, calErr)
	if calErr != nil {
		t.log.Warn("adopted timer has an invalid calendar expression", zap.Error(calErr))
	}
	return t
}

func adoptionOrder[V any](m map[Key]V) []Key {
	return slices.SortedFunc(maps.Keys(m), compareUnits)
}

// forgetRecordsOnly removes the timers that only their record brings
// back: no drop-in (dropIns), nothing else of them either (nothingLeft),
// as `snapm schedule delete` while the daemon was stopped leaves them.
func (m *Manager) forgetRecordsOnly(dropIns map[Key]dropin.Entry) {
	m.mu.RLock()
	var recordsOnly []*Timer
	for key, t := range m.timers {
		if _, ok := dropIns[key]; !ok {
			recordsOnly = append(recordsOnly, t)
		}
	}
	m.mu.RUnlock()
	for _, t := range recordsOnly {
		unlock, free := t.tryLock() // nobody else has it yet
		if !free {
			continue
		}
		if err := m.forgetIfNothingLeft(t); err != nil {
			t.log.Warn("removing a timer of which nothing is left, ignoring", zap.Error(err))
		}
		unlock()
	}
}
