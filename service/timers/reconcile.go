// Reconciliation: systemd's and the disk's view read into the timers, in
// bulk (resyncs, adoption) or one timer at a time (after an operation), and
// systemd's signals applied as they come.
//
// Locks: a read of one timer runs under its operation lock (Timer.op), so
// our own writes cannot race the read of the drop-in; the values are
// applied under Timer.mu, ordered against signals by the bus's message
// sequence numbers. Nothing here waits for an operation lock: a timer
// that is busy owes the read (Timer.owed, under Timer.mu), and the reader
// pays it once the lock is let go. resyncMu guards only the pending read
// mask, owingMu only the reader's queue (taken inside Timer.mu, never
// around it). Manager.mu is held just long enough to copy the timer list,
// never while waiting on systemd.

package timers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/unitfiles"
)

// Disagreement marks the log entries of the in-process calendar engine
// and systemd disagreeing, so that tests can count them in any log.
var Disagreement = zap.Bool("engine_systemd_disagreement", true)

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
//
// With mayHold, a unit file state that systemd has not loaded yet (a mask
// or an unmask before the daemon-reload that systemctl sends next) is
// held back, so that it is published together with what the reload
// brings: held says so, and the caller reads again after the reload or,
// if none comes, without holding.
func (m *Manager) readInBulk(ctx context.Context, reads Reads, entries []dropin.Entry, mayHold bool) (held bool, err error) {
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
	if reads&ReadUnit != 0 {
		if loaded, seq, err = m.cfg.Systemd.LoadedUnits(ctx, unitPatterns); err != nil {
			return false, fmt.Errorf("listing loaded timer units: %w", err)
		}
	}
	if reads&ReadUnitFile != 0 {
		if fileStates, err = unitfiles.States(unitfiles.Dirs{Persistent: m.cfg.UnitDir, Runtime: m.cfg.RuntimeUnitDir}, units); err != nil {
			return false, fmt.Errorf("%w: reading unit file states: %w", ErrIO, err)
		}
	}
	if entries == nil {
		if entries, err = dropin.Scan(m.cfg.UnitDir, unitPrefixes()...); err != nil {
			return false, fmt.Errorf("%w: scanning drop-ins: %w", ErrIO, err)
		}
	}
	onDisk := make(map[string]dropin.Entry, len(entries))
	for _, e := range entries {
		onDisk[e.Unit] = e
	}
	for _, t := range all {
		unlock, free := t.tryLock()
		if !free {
			// Read on its own once its operation is over, which may have
			// changed it after the bulk reads; never waited for here, so
			// that a job hanging on one timer holds up no other.
			t.mu.Lock()
			m.owe(t, reads)
			t.mu.Unlock()
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
		e, dropIn := onDisk[unit]
		delete(onDisk, unit)
		t.mu.Lock()
		// systemd never signals what a reload brings (TimersCalendar,
		// NeedDaemonReload). A timer that needed one now runs its drop-in
		// as it is on disk, which the engine reads as systemd does; one
		// whose drop-in went runs the template's own schedule, which only
		// systemd can tell: it is read in full.
		reloaded := reads&ReadUnit != 0 && t.unit.NeedDaemonReload
		readAgain := reloaded && !dropIn
		if reads&ReadUnit != 0 {
			st := loaded[unit]
			if st.loaded() {
				// What the list leaves out stays as last read or signalled;
				// a fresh load or a reload has caught up with the disk.
				st.NextElapse, st.LastTrigger, st.Calendars = t.unit.NextElapse, t.unit.LastTrigger, t.unit.Calendars
				if reloaded {
					st.NextElapse, st.Calendars = 0, nil
				}
				if st.active() && st.NextElapse == 0 {
					// The engine's next elapse is systemd's (the differential
					// tests hold it to that) until systemd's own is read.
					st.NextElapse = t.cal.Next
				}
			}
			t.applyRead(st, seq)
		}
		switch {
		case !known:
		case mayHold && fileState != t.unit.UnitFileState && t.unit.LoadState != "" &&
			(t.unit.LoadState == "masked") != strings.HasPrefix(fileState, "masked"):
			held = true
		default:
			t.unit.UnitFileState = fileState
		}
		changedOnDisk := dropIn != t.dropIn || (dropIn && ((e.Err != nil) != (t.dropInErr != nil) || (e.Err == nil && e.Spec != t.spec)))
		// A timer whose loaded calendar, as last read, is not its
		// drop-in's (read just before the reload that brought it, say) has
		// its unit read again: the list says nothing of calendars.
		staleCalendar := reads&ReadUnit != 0 && dropIn && t.calErr == nil && t.unit.loaded() &&
			len(t.unit.Calendars) > 0 && !slices.Equal(t.unit.Calendars, []string{t.cal.Normalized})
		// A timer read again below is published once, when read: the
		// list alone would show it half reloaded.
		if !t.removed && !changedOnDisk && !readAgain && !staleCalendar {
			t.publish(m.cfg.Observer)
		}
		t.mu.Unlock()
		var refreshErr error
		switch {
		case changedOnDisk:
			refreshErr = m.refresh(ctx, t, ReadAll)
		case readAgain || staleCalendar:
			refreshErr = m.refresh(ctx, t, ReadUnit)
		}
		unlock()
		if refreshErr != nil && ctx.Err() == nil {
			t.log.Warn("reading timer whose drop-in changed", zap.Error(refreshErr))
		}
	}
	// What is left are drop-ins of no timer: configured while we ran.
	for unit := range onDisk {
		if key, ok := ParseUnit(unit); ok {
			m.adoptNew(ctx, key)
		}
	}
	return held, nil
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
	// readLoadState is ReadUnit owed only to learn LoadState, which a
	// successful Start tells too.
	readLoadState Reads = 1 << iota
	// readRun is the last run of the timer's service, read only if the
	// timer has triggered (owed with ReadUnit, which tells LastTrigger).
	readRun
)

// refresh reads systemd's and the disk's view of t and publishes it. The
// caller holds t's operation lock, so our own writes cannot race the read
// of the drop-in.
func (m *Manager) refresh(ctx context.Context, t *Timer, reads Reads) error {
	return m.apply(t, m.readSystemd(ctx, t, reads))
}

// systemdRead is what systemd (and the symlinks, for the unit file state)
// said of a timer's unit.
type systemdRead struct {
	st        UnitState
	seq       uint64
	fileState string // "": not read
	err       error
}

// readSystemd reads what reads names of t's unit. What is not read, or
// systemd fails to tell, keeps its last known value when applied.
func (m *Manager) readSystemd(ctx context.Context, t *Timer, reads Reads) systemdRead {
	unit := t.key.Unit()
	var r systemdRead
	if reads&readLoadState != 0 {
		reads = reads&^readLoadState | ReadUnit
	}
	t.mu.Lock()
	t.owed &^= reads // what falls due from now on is read again
	if reads&ReadUnit != 0 {
		t.owed &^= readLoadState
	}
	t.mu.Unlock()
	// The symlinks are read while systemd answers: a readdir of the unit
	// directory, which grows with the timers, against a bus round trip.
	var fileErr error
	var files sync.WaitGroup
	if reads&ReadUnitFile != 0 {
		files.Add(1)
		go func() {
			defer files.Done()
			r.fileState, fileErr = m.unitFileState(ctx, unit)
		}()
	}
	if reads&ReadUnit != 0 {
		if r.st, r.seq, r.err = m.cfg.Systemd.UnitState(ctx, unit); r.err != nil {
			r.err = fmt.Errorf("reading state of %s: %w", unit, r.err)
		}
	}
	files.Wait()
	if fileErr != nil {
		r.err = errors.Join(r.err, fmt.Errorf("reading unit file state of %s: %w", unit, fileErr))
		r.fileState = ""
	}
	return r
}

// readAhead runs readSystemd while the caller waits on the disk, which
// neither changes what systemd has loaded nor depends on it; the caller
// receives from the channel on every path.
func (m *Manager) readAhead(ctx context.Context, t *Timer, reads Reads) <-chan systemdRead {
	read := make(chan systemdRead, 1)
	go func() { read <- m.readSystemd(ctx, t, reads) }()
	return read
}

// apply publishes r with the disk's view of t; the caller holds t's
// operation lock.
func (m *Manager) apply(t *Timer, r systemdRead) error {
	unit := t.key.Unit()
	sdErr := r.err
	spec, dropIn, readErr := dropin.Read(m.cfg.UnitDir, unit)
	if readErr != nil {
		// There, but unreadable: the timer shows invalid, the rest as read.
		dropIn = true
		sdErr = errors.Join(sdErr, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, readErr))
	}
	t.mu.Lock()
	t.dropIn, t.dropInErr = dropIn, readErr
	edited := readErr == nil && dropIn && spec != t.spec
	if edited {
		// Someone changed the drop-in by hand; it is what systemd runs.
		t.spec = spec
		t.cal, t.calErr = m.cfg.Calendar.Parse(spec, m.cfg.Now())
		t.log.Info("drop-in changed outside the service", zap.String("calendar", spec), zap.Error(t.calErr))
	}
	t.applyRead(r.st, r.seq)
	if r.fileState != "" {
		t.unit.UnitFileState = r.fileState
	}
	if sd := t.systemdCalendar(); sd != "" && t.calErr == nil && sd != t.cal.Normalized {
		m.log.Warn("systemd normalizes the calendar expression differently; systemd's form is shown",
			zap.String("unit", unit), zap.String("systemd", sd), zap.String("engine", t.cal.Normalized), Disagreement)
	}
	// Only while systemd runs the schedule we have: syncConfig publishes
	// its view once before the daemon-reload that brings a new one.
	// Both in the future: at an elapse the engine moves on a moment
	// before or after systemd does.
	now := uint64(m.cfg.Now().UnixMicro())
	if t.unit.active() && t.systemdCalendar() == t.cal.Normalized && t.unit.NextElapse > now && t.cal.Next > now && t.unit.NextElapse != t.cal.Next {
		t.log.Warn("systemd's next elapse differs from the engine's; systemd's is shown",
			zap.Uint64("systemd_usec", t.unit.NextElapse), zap.Uint64("engine_usec", t.cal.Next), Disagreement)
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

// owe records that t must read reads again before its state is published
// as known, and hands it to the reader; t.mu held.
func (m *Manager) owe(t *Timer, reads Reads) {
	t.owed |= reads
	m.queue(t)
}

// queueIfOwed hands t to the reader if it still owes a read; called when
// its operation lock is let go.
func (m *Manager) queueIfOwed(t *Timer) {
	t.mu.Lock()
	owed := t.owed != 0 && !t.removed
	t.mu.Unlock()
	if owed {
		m.queue(t)
	}
}

func (m *Manager) queue(t *Timer) {
	m.owingMu.Lock()
	m.owing[t] = struct{}{}
	m.owingMu.Unlock()
	select {
	case m.owingWake <- struct{}{}:
	default:
	}
}

// reader pays the reads timers owe, a batch at a time.
func (m *Manager) reader(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.owingWake:
		}
		m.owingMu.Lock()
		batch := make([]*Timer, 0, len(m.owing))
		for t := range m.owing {
			batch = append(batch, t)
		}
		clear(m.owing)
		m.owingMu.Unlock()
		forEachParallel(ctx, batch, func(t *Timer) { m.payOwed(ctx, t) })
	}
}

// payOwed reads what t owes, unless an operation holds it: letting go of
// it queues t again.
func (m *Manager) payOwed(ctx context.Context, t *Timer) {
	unlock, free := t.tryLock()
	if !free {
		return
	}
	defer unlock()
	t.mu.Lock()
	reads, removed := t.owed, t.removed
	t.owed = 0
	t.mu.Unlock()
	if reads == 0 || removed {
		return
	}
	if err := m.refresh(ctx, t, reads); err != nil && ctx.Err() == nil {
		t.log.Warn("reading timer, ignoring", zap.Error(err))
	}
	if reads&readRun != 0 {
		m.readRunIfTriggered(ctx, t)
	}
}

// UnitChanged applies a change systemd signalled for unit (seq orders it
// against reads); apply sets the fields the signal carries.
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
	// systemd sends a change as two signals, the timer's properties first
	// and the unit's (which always carry ActiveState) last, "so clients
	// can get atomic behaviour": publish once, with both applied.
	var carried UnitState
	apply(&carried)
	if carried.ActiveState == "" {
		return
	}
	if !t.unit.loaded() {
		// systemd never signals LoadState, and has loaded the unit since
		// we last read it (or it would not signal): publish what a read
		// says rather than a guess.
		m.owe(t, readLoadState)
		return
	}
	t.publish(m.cfg.Observer)
}

// Resync asks for a re-read of every timer: of the units after a
// daemon-reload, of the unit files after someone else changed them, of
// both when systemd reconnects. Bursts share one pass.
func (m *Manager) Resync(reads Reads) {
	if reads&ReadUnitFile != 0 {
		// systemctl follows a change of unit files with the daemon-reload
		// that makes systemd load it (unmask, say): read the units too, so
		// that both are published as one change. systemd answers the read
		// only once a reload under way is complete.
		reads |= ReadUnit
	}
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

// maxHold bounds how long a change of unit files waits for the
// daemon-reload that makes systemd load it.
const maxHold = 500 * time.Millisecond

func (m *Manager) refresher(ctx context.Context) {
	// hold runs while a unit file state is held back.
	hold := time.NewTimer(maxHold)
	hold.Stop()
	holding := false
	for {
		final := false
		select {
		case <-ctx.Done():
			hold.Stop()
			return
		case <-m.refreshAll:
		case <-hold.C:
			final, holding = true, false
		}
		m.resyncMu.Lock()
		reads := m.resyncReads
		m.resyncReads = 0
		if final {
			reads = ReadAll
		}
		m.resyncMu.Unlock()
		m.resyncs.Add(1)
		held, err := m.readInBulk(ctx, reads, nil, !final)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("resynchronizing timers, ignoring", zap.Error(err))
		}
		switch {
		case held && !holding:
			// The reload's resync reads the unit files again too.
			m.resyncMu.Lock()
			m.resyncReads |= ReadAll
			m.resyncMu.Unlock()
			hold.Reset(maxHold)
			holding = true
		case !held && holding:
			hold.Stop()
			holding = false
		}
	}
}

// forEachParallel runs fn for each timer, a bounded number at a time, and
// returns when all are done.
func forEachParallel(ctx context.Context, all []*Timer, fn func(t *Timer)) {
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
