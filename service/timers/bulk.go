// Re-reads of every timer at once: resyncs after a daemon-reload, someone
// else's change of unit files or a reconnection, and adoption, with a
// constant number of systemd calls.
//
// Locks: nothing here waits for an operation lock: a timer that is busy
// owes the read (Timer.owed, under Timer.mu) and is read once it is let
// go. resyncMu guards only the pending read mask; Manager.mu is held just
// long enough to copy the timer list, never while waiting on systemd.
// Needed by: TestResyncAsksSystemdOnce.

package timers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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
//
// With mayHold, a unit file state that systemd has not loaded yet (a mask
// or an unmask before the daemon-reload that systemctl sends next) is
// held back, so that it is published together with what the reload
// brings: held says so, and the caller reads again after the reload or,
// if none comes, without holding. Needed by: tests/realsystemd
// TestPublishedStateIsTrue (a runtime unmask published Enabled before the
// reload that ends the mask; the settle time alone does not cover it).
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
	if reads == ReadUnitFile {
		// Someone else's change of unit files, most often not of ours (a
		// package enabling its service): systemd is asked nothing unless
		// the disk moved one of our timers.
		if !filesMoved(all, fileStates, onDisk) {
			return false, nil
		}
		// systemctl follows a change of unit files with the daemon-reload
		// that makes systemd load it (unmask, say): read the units too,
		// so that both are published as one change. systemd answers the
		// read only once a reload under way is complete.
		reads |= ReadUnit
	}
	if reads&ReadUnit != 0 {
		if loaded, seq, err = m.cfg.Systemd.LoadedUnits(ctx, unitPatterns); err != nil {
			return false, fmt.Errorf("listing loaded timer units: %w", err)
		}
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
		changedOnDisk := t.dropInMoved(e, dropIn)
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

// filesMoved tells whether the unit file states and drop-ins on disk say
// anything of the timers other than what they show: a state, a drop-in,
// a unit file only systemd can judge, or a drop-in of no timer.
func filesMoved(all []*Timer, fileStates map[string]string, onDisk map[string]dropin.Entry) bool {
	mine := 0
	for _, t := range all {
		unit := t.key.Unit()
		fileState, known := fileStates[unit]
		e, dropIn := onDisk[unit]
		if dropIn {
			mine++
		}
		t.mu.Lock()
		moved := !known || fileState != t.unit.UnitFileState || t.dropInMoved(e, dropIn)
		t.mu.Unlock()
		if moved {
			return true
		}
	}
	return mine != len(onDisk)
}

// dropInMoved tells whether the drop-in found on disk (e, if present) is
// not the one t shows; t.mu held.
func (t *Timer) dropInMoved(e dropin.Entry, present bool) bool {
	if present != t.dropIn {
		return true
	}
	return present && ((e.Err != nil) != (t.dropInErr != nil) || (e.Err == nil && e.Spec != t.spec))
}

// Resync asks for a re-read of every timer: of the units after a
// daemon-reload, of the unit files after someone else changed them (and
// of the units too if that moved a timer, see readInBulk), of both when
// systemd reconnects. Bursts share one pass.
// Needed by: tests/bus TestReloadBurstSharesOneResync.
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
