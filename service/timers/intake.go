// Signal intake: the changes systemd signals, applied as they come, and
// the reads a timer owes when a signal cannot be published on its own (a
// unit loaded since it was read) or when it was busy during a re-read.
//
// Locks: a signal is applied under Timer.mu, ordered against reads by the
// bus's message sequence numbers; owingMu guards only the reader's queue
// (taken inside Timer.mu, never around it), and the reader pays a debt
// only while the timer's operation lock is free.

package timers

import (
	"context"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

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
		var stale atomic.Bool
		forEachParallel(ctx, batch, func(t *Timer) {
			if m.payOwed(ctx, t) {
				stale.Store(true)
			}
		})
		if stale.Load() {
			m.reloadStale(ctx)
		}
	}
}

// payOwed reads what t owes, unless an operation holds it: letting go of
// it queues t again. stale: t owed readStale, and systemd runs a
// configuration older than its drop-in.
func (m *Manager) payOwed(ctx context.Context, t *Timer) (stale bool) {
	unlock, free := t.tryLock()
	if !free {
		return false
	}
	defer unlock()
	t.mu.Lock()
	reads, removed := t.owed, t.removed
	t.owed = 0
	t.mu.Unlock()
	if reads == 0 || removed {
		return false
	}
	if err := m.refresh(ctx, t, reads); err != nil && ctx.Err() == nil {
		t.log.Warn("reading timer, ignoring", zap.Error(err))
	}
	if reads&readRun != 0 {
		m.readRunIfTriggered(ctx, t)
	}
	if reads&readStale == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropIn && t.dropInErr == nil && t.unit.loaded() && t.unit.NeedDaemonReload
}

// reloadStale makes systemd load the drop-ins a crash left it running an
// older configuration of: every write of a drop-in is followed by a
// daemon-reload (syncConfig), and one killed in between is finished here,
// once for all such timers. The Reloading signal re-reads them all.
func (m *Manager) reloadStale(ctx context.Context) {
	m.log.Info("systemd runs older calendars than the drop-ins of timers found at start-up, reloading")
	if err := m.cfg.Systemd.Reload(ctx); err != nil && ctx.Err() == nil {
		m.log.Warn("reloading systemd for drop-ins found at start-up, ignoring", zap.Error(err))
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
