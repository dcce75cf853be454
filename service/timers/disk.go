// Changes on disk: drop-ins edited, removed or created by hand or by
// snapm's own tools while the daemon runs, as a watch of the unit
// directory reports them.
//
// Locks: a timer's drop-in is compared and re-read under its operation
// lock (Timer.op), so our own writes are never taken for someone else's;
// a timer busy with an operation is handed back, to be read after it.
// Manager.mu is held only to look a timer up or insert a new one.

package timers

import (
	"context"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// DiskChanged re-reads the drop-ins of units, or of every timer when units
// is nil: a changed or vanished drop-in updates its timer, a new one
// becomes a new timer, as at start-up. Our own writes come back through it
// too; a drop-in that is as the timer has it costs one file read. busy
// are the units whose timer is in an operation, not waited for (a hung
// systemd job would hold every other change): ask again later.
func (m *Manager) DiskChanged(ctx context.Context, units []string) (busy []string) {
	if units == nil {
		if _, err := m.readInBulk(ctx, 0, nil, false); err != nil && ctx.Err() == nil {
			m.log.Warn("re-reading every drop-in, ignoring", zap.Error(err))
		}
		return nil
	}
	for _, unit := range units {
		key, ok := ParseUnit(unit)
		if !ok {
			continue
		}
		t, err := m.timer(key)
		if err != nil {
			m.adoptNew(ctx, key)
			continue
		}
		unlock, free := t.tryLock()
		if !free {
			busy = append(busy, unit)
			continue
		}
		m.rereadDropIn(ctx, t)
		unlock()
	}
	return busy
}

// rereadDropIn refreshes t if its drop-in is not as t has it; the caller
// holds t's operation lock. systemd is asked too: a drop-in changed under
// a loaded unit makes it need a daemon-reload.
func (m *Manager) rereadDropIn(ctx context.Context, t *Timer) {
	log := m.log.With(zap.Stringer("unit", t.key))
	spec, present, err := dropin.Read(m.cfg.UnitDir, t.key.Unit())
	if err != nil {
		log.Warn("reading changed drop-in, ignoring", zap.Error(err))
		return
	}
	t.mu.Lock()
	same := present == t.dropIn && (!present || spec == t.spec) && !t.removed
	t.mu.Unlock()
	if same {
		return
	}
	if err := m.refresh(ctx, t, ReadUnit); err != nil && ctx.Err() == nil {
		log.Warn("reading timer whose drop-in changed, ignoring", zap.Error(err))
		return
	}
	if !present {
		if err := m.forgetIfNothingLeft(t); err != nil {
			log.Warn("removing a timer of which nothing is left, ignoring", zap.Error(err))
		}
	}
}

// adoptNew takes over a timer whose drop-in appeared on disk: snapm (ours
// or the Python one) or an admin configured it while we ran. It is read
// in full before it is announced, so that its first appearance is true.
func (m *Manager) adoptNew(ctx context.Context, key Key) {
	if t, err := m.timer(key); err == nil {
		// Known after all; but adopted meanwhile in a state held back,
		// and so perhaps missed by the pass that reported it, it is read
		// again: what it waited for may have come.
		m.rereadPending(ctx, t)
		return
	}
	log := m.log.With(zap.Stringer("unit", key))
	spec, present, err := dropin.Read(m.cfg.UnitDir, key.Unit())
	if err != nil {
		log.Warn("reading new drop-in, ignoring", zap.Error(err))
		return
	}
	if !present {
		return // gone again, or a UNIT.d without our drop-in
	}
	// takeIn reads the drop-in again: one removed since (a Remove of this
	// timer deletes its drop-in before the timer) is not brought back.
	t := m.adoptedTimer(key, spec)
	if !m.takeIn(ctx, t, func(t *Timer) bool { t.mu.Lock(); defer t.mu.Unlock(); return t.dropIn }) {
		return
	}
	// Kept from now on as the daemon's own are, so that a restart keeps it
	// whatever becomes of its drop-in.
	if err := m.store.put(key.record(spec)); err != nil {
		log.Warn("saving the timer, ignoring", zap.Error(err))
	}
	log.Info("adopted timer configured on disk while running", zap.String("calendar", spec))
}

// rereadPending reads t again if it waits to be announced (see settle.go)
// and no operation holds it.
func (m *Manager) rereadPending(ctx context.Context, t *Timer) {
	t.mu.Lock()
	pending := t.pending
	t.mu.Unlock()
	if !pending {
		return
	}
	unlock, free := t.tryLock()
	if !free {
		return
	}
	defer unlock()
	if err := m.refresh(ctx, t, ReadAll); err != nil && ctx.Err() == nil {
		t.log.Warn("reading a timer found on disk, ignoring", zap.Error(err))
	}
}
