// Reconciliation: systemd's and the disk's view read into the timers, in
// bulk (resyncs, adoption) or one timer at a time (after an operation), and
// systemd's signals applied as they come.
//
// Locks: a read of one timer runs under its operation lock (Timer.op), so
// our own writes cannot race the read of the drop-in; the values are
// applied under Timer.mu, ordered against signals by the bus's message
// sequence numbers. resyncMu guards only the pending read mask. Manager.mu
// is held just long enough to copy the timer list, never while waiting on
// systemd.

package timers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/unitfiles"
)

// unitPatterns match every unit of ours.
var unitPatterns = func() []string {
	out := unitPrefixes()
	for i := range out {
		out[i] += "*.timer"
	}
	return out
}()

// readInBulk re-reads what reads names for every timer with a constant
// number of systemd calls: one ListUnitsByPatterns for the runtime states
// and one pass over the enablement symlinks for the unit file states,
// where reading each timer costs up to three calls, one of which walks
// every .wants directory. Reading 10,000 timers one by one keeps systemd
// busy for minutes. The drop-ins are read again too: a timer whose drop-in
// changed on disk gets a full read of its own; entries are the drop-ins if
// the caller has just scanned them, nil to scan them here.
func (m *Manager) readInBulk(ctx context.Context, reads Reads, entries []dropin.Entry) error {
	var loaded map[string]UnitState
	var seq uint64
	var fileStates map[string]string
	m.mu.RLock()
	all := make([]*Timer, 0, len(m.timers))
	units := make([]string, 0, len(m.timers))
	for _, t := range m.timers {
		all = append(all, t)
		units = append(units, t.key.Unit())
	}
	m.mu.RUnlock()
	var err error
	if reads&ReadUnit != 0 {
		if loaded, seq, err = m.cfg.Systemd.LoadedUnits(ctx, unitPatterns); err != nil {
			return fmt.Errorf("listing loaded timer units: %w", err)
		}
	}
	if reads&ReadUnitFile != 0 {
		if fileStates, err = unitfiles.States(unitfiles.Dirs{Persistent: m.cfg.UnitDir, Runtime: m.cfg.RuntimeUnitDir}, units); err != nil {
			return fmt.Errorf("%w: reading unit file states: %w", ErrIO, err)
		}
	}
	if entries == nil {
		if entries, err = dropin.Scan(m.cfg.UnitDir, unitPrefixes()...); err != nil {
			return fmt.Errorf("%w: scanning drop-ins: %w", ErrIO, err)
		}
	}
	specs := make(map[string]string, len(entries))
	for _, e := range entries {
		specs[e.Unit] = e.Spec
	}
	// Timers busy with an operation are read on their own once it is
	// over: the operation may have changed them after the bulk reads.
	var readAlone []*Timer
	for _, t := range all {
		unlock, free := t.tryLock()
		if !free {
			readAlone = append(readAlone, t)
			continue
		}
		unit := t.key.Unit()
		fileState, known := fileStates[unit]
		if reads&ReadUnitFile != 0 && !known {
			// A unit file of its own: only systemd can tell.
			if fileState, err = m.cfg.Systemd.UnitFileState(ctx, unit); err != nil {
				t.log.Warn("reading unit file state", zap.Error(err))
			}
			known = err == nil
		}
		spec, dropIn := specs[unit]
		delete(specs, unit)
		t.mu.Lock()
		// systemd never signals what a reload brings (TimersCalendar,
		// NeedDaemonReload): a timer that needed one is read in full.
		reloaded := reads&ReadUnit != 0 && t.unit.NeedDaemonReload
		if reads&ReadUnit != 0 {
			st := loaded[unit]
			if st.loaded() {
				// What the list leaves out stays as last read or signalled;
				// a fresh load or a reload has caught up with the disk.
				st.NextElapse, st.LastTrigger, st.Calendars = t.unit.NextElapse, t.unit.LastTrigger, t.unit.Calendars
				if st.active() && st.NextElapse == 0 {
					// The engine's next elapse is systemd's (the differential
					// tests hold it to that) until systemd's own is read.
					st.NextElapse = t.cal.Next
				}
			}
			t.applyRead(st, seq)
		}
		if known {
			t.unit.UnitFileState = fileState
		}
		changedOnDisk := dropIn != t.dropIn || (dropIn && spec != t.spec)
		// A timer read again below is published once, when read: the
		// list alone would show it half reloaded.
		if !t.removed && !changedOnDisk && !reloaded {
			t.publish(m.cfg.Observer)
		}
		t.mu.Unlock()
		var refreshErr error
		switch {
		case changedOnDisk:
			refreshErr = m.refresh(ctx, t, ReadAll)
		case reloaded:
			refreshErr = m.refresh(ctx, t, ReadUnit)
		}
		unlock()
		if refreshErr != nil && ctx.Err() == nil {
			t.log.Warn("reading timer whose drop-in changed", zap.Error(refreshErr))
		}
	}
	for _, t := range readAlone {
		if err := m.lockedRefresh(ctx, t, reads); err != nil && ctx.Err() == nil {
			t.log.Warn("reading timer", zap.Error(err))
		}
	}
	// What is left are drop-ins of no timer: configured while we ran.
	for unit := range specs {
		if key, ok := ParseUnit(unit); ok {
			m.adoptNew(ctx, key)
		}
	}
	return nil
}

// Reads says what a refresh re-reads of systemd's view.
type Reads uint8

// ReadUnit is the runtime state (GetUnit and GetAll); ReadUnitFile the
// unit file state, read from the symlinks (see unitFileState): it changes
// only through Enable and Disable (which read it) or an outside change of
// unit files (which resyncs it).
const (
	ReadUnit Reads = 1 << iota
	ReadUnitFile
	ReadAll = ReadUnit | ReadUnitFile
)

// refresh reads systemd's and the disk's view of t and publishes it. The
// caller holds t's operation lock, so our own writes cannot race the read
// of the drop-in.
func (m *Manager) refresh(ctx context.Context, t *Timer, reads Reads) error {
	unit := t.key.Unit()
	// What is not read, or systemd fails to tell, keeps its last known
	// value; the rest is still worth publishing (a drop-in that went, say).
	var st UnitState
	var seq uint64
	var sdErr error
	if reads&ReadUnit != 0 {
		if st, seq, sdErr = m.cfg.Systemd.UnitState(ctx, unit); sdErr != nil {
			sdErr = fmt.Errorf("reading state of %s: %w", unit, sdErr)
		}
	}
	fileStateNow := t.unitFileState()
	if reads&ReadUnitFile != 0 {
		if state, err := m.unitFileState(ctx, unit); err == nil {
			fileStateNow = state
		} else {
			sdErr = errors.Join(sdErr, fmt.Errorf("reading unit file state of %s: %w", unit, err))
		}
	}
	spec, dropIn, err := dropin.Read(m.cfg.UnitDir, unit)
	if err != nil {
		return errors.Join(sdErr, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, err))
	}
	t.mu.Lock()
	t.dropIn = dropIn
	edited := dropIn && spec != t.spec
	if edited {
		// Someone changed the drop-in by hand; it is what systemd runs.
		t.spec = spec
		t.cal, t.calErr = m.cfg.Calendar.Parse(spec, m.cfg.Now())
		t.log.Info("drop-in changed outside the service", zap.String("calendar", spec), zap.Error(t.calErr))
	}
	t.applyRead(st, seq)
	t.unit.UnitFileState = fileStateNow
	if sd := t.systemdCalendar(); sd != "" && t.calErr == nil && sd != t.cal.Normalized {
		m.log.Warn("systemd normalizes the calendar expression differently; systemd's form is shown",
			zap.String("unit", unit), zap.String("systemd", sd), zap.String("engine", t.cal.Normalized))
	}
	// Only while systemd runs the schedule we have: syncConfig publishes
	// its view once before the daemon-reload that brings a new one.
	if t.unit.active() && t.systemdCalendar() == t.cal.Normalized && t.unit.NextElapse != 0 && t.cal.Next != 0 && t.unit.NextElapse != t.cal.Next {
		t.log.Warn("systemd's next elapse differs from the engine's; systemd's is shown",
			zap.Uint64("systemd_usec", t.unit.NextElapse), zap.Uint64("engine_usec", t.cal.Next))
	}
	removed := t.removed
	if !removed {
		t.publish(m.cfg.Observer)
	}
	t.mu.Unlock()
	if edited && !removed {
		m.pokeElapses()
		return errors.Join(sdErr, m.store.put(record{Type: t.key.Type, Name: t.key.Name, Spec: spec}))
	}
	return sdErr
}

// unitFileState is what systemd's GetUnitFileState answers for unit, read
// from the symlinks as systemd itself reads them: asking systemd costs a
// walk of every .wants directory (4.4 ms, 14 ms at 4,000 timers), and the
// UnitFileState property of a loaded unit is no substitute, as systemd 252
// computes it once and keeps it until the next daemon-reload. Only a unit
// with a file of its own is left for systemd to judge.
func (m *Manager) unitFileState(ctx context.Context, unit string) (string, error) {
	state, known, err := unitfiles.State(unitfiles.Dirs{Persistent: m.cfg.UnitDir, Runtime: m.cfg.RuntimeUnitDir}, unit)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrIO, err)
	}
	if known {
		return state, nil
	}
	return m.cfg.Systemd.UnitFileState(ctx, unit)
}

// lockedRefresh is refresh for callers that do not hold the operation
// lock: adoption and resynchronization.
func (m *Manager) lockedRefresh(ctx context.Context, t *Timer, reads Reads) error {
	unlock, err := t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return m.refresh(ctx, t, reads)
}

// UnitChanged applies a change systemd signalled for unit (seq orders it
// against reads); apply sets the changed fields.
func (m *Manager) UnitChanged(unit string, seq uint64, apply func(*UnitState)) {
	key, ok := ParseUnit(unit)
	if !ok {
		return
	}
	m.mu.RLock()
	t := m.timers[key]
	m.mu.RUnlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq <= t.seq || t.removed {
		return
	}
	apply(&t.unit)
	t.seq = seq
	t.publish(m.cfg.Observer)
}

// Resync asks for a re-read of every timer: of the units after a
// daemon-reload, of the unit files after someone else changed them, of
// both when systemd reconnects. Bursts share one pass.
func (m *Manager) Resync(reads Reads) {
	m.resyncMu.Lock()
	m.resyncReads |= reads
	m.resyncMu.Unlock()
	select {
	case m.refreshAll <- struct{}{}:
	default:
	}
}

// Resyncs counts the full re-reads done so far.
func (m *Manager) Resyncs() uint64 { return m.resyncs.Load() }

func (m *Manager) refresher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.refreshAll:
		}
		m.resyncMu.Lock()
		reads := m.resyncReads
		m.resyncReads = 0
		m.resyncMu.Unlock()
		m.resyncs.Add(1)
		if err := m.readInBulk(ctx, reads, nil); err != nil && ctx.Err() == nil {
			m.log.Warn("resynchronizing timers", zap.Error(err))
		}
	}
}

func (m *Manager) forEachParallel(ctx context.Context, fn func(t *Timer)) {
	m.mu.RLock()
	all := make([]*Timer, 0, len(m.timers))
	for _, t := range m.timers {
		all = append(all, t)
	}
	m.mu.RUnlock()
	sem := make(chan struct{}, refreshParallelism)
	var wg sync.WaitGroup
	for _, t := range all {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(t)
		}()
	}
	wg.Wait()
}
