// Adoption: the timers found on disk at start-up (snapm's drop-ins and this
// service's own records) become objects.
//
// Locks: Adopt runs before the name is claimed, so no caller competes; it
// takes Manager.mu only to insert, and each timer's operation lock only in
// the background pass that reads what the bulk read leaves out.

package timers

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// Adopt takes over every timer found on disk: the drop-ins snapm (ours or
// the Python one) wrote, and the timers this service persisted. Call it
// after subscribing to systemd's signals, so no change slips between the
// read and the subscription.
func (m *Manager) Adopt(ctx context.Context) error {
	specs := map[Key]string{}
	recs, err := m.store.load()
	if err != nil {
		return err
	}
	for _, r := range recs {
		key, err := parseKey(string(r.Type), r.Name)
		if err != nil {
			m.log.Warn("ignoring invalid timer in state file", zap.Error(err))
			continue
		}
		specs[key] = r.Spec
	}
	entries, err := dropin.Scan(m.cfg.UnitDir, unitPrefixes()...)
	if err != nil {
		return fmt.Errorf("%w: scanning %s: %w", ErrIO, m.cfg.UnitDir, err)
	}
	dropIns := map[Key]bool{}
	for _, e := range entries {
		key, ok := ParseUnit(e.Unit)
		if !ok {
			m.log.Warn("ignoring drop-in of a unit with an unsupported name", zap.String("unit", e.Unit))
			continue
		}
		specs[key] = e.Spec
		dropIns[key] = true
	}
	for key, spec := range specs {
		t := m.adoptedTimer(key, spec)
		t.dropIn = dropIns[key]
		m.mu.Lock()
		m.timers[key] = t
		m.mu.Unlock()
	}
	if _, err := m.readInBulk(ctx, ReadAll, entries, false); err != nil {
		return err
	}
	m.mu.RLock()
	for _, t := range m.timers {
		m.announce(t)
	}
	n := len(m.timers)
	m.mu.RUnlock()
	m.log.Info("adopted timers", zap.Int("timers", n), zap.Int("drop_ins", len(dropIns)))
	// What the bulk reads leave out (LastTrigger, systemd's own next
	// elapse and calendar) follows from the reader, without holding up
	// the name.
	m.mu.RLock()
	for _, t := range m.timers {
		t.mu.Lock()
		if t.unit.loaded() {
			m.owe(t, ReadUnit)
		}
		t.mu.Unlock()
	}
	m.mu.RUnlock()
	return nil
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
