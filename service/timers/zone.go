// The host's time zone changed: what was computed in it is computed again.
//
// Locks: as the keeper of next elapses, Manager.mu for reading while it
// walks the timers and each Timer.mu in turn; it never waits on systemd.

package timers

// HostZoneChanged recomputes every timer's calendar (its normalized form,
// its next elapse, and whether it is valid at all: an expression may name
// the host zone's abbreviation) in the zone the Calendar port now has, and
// publishes what changed, as systemd recomputes its timers. Previews use
// the port's zone as it is at each call.
func (m *Manager) HostZoneChanged() {
	now := m.cfg.Now()
	m.mu.RLock()
	for _, t := range m.timers {
		t.mu.Lock()
		t.cal, t.calErr = m.cfg.Calendar.Parse(t.spec, now)
		t.publish(m.cfg.Observer)
		t.mu.Unlock()
	}
	m.mu.RUnlock()
	m.pokeElapses() // the earliest elapse moved
}
