// The keeper of next elapses: moves each timer's NextElapse on when it
// passes, as systemd would, for timers systemd does not run.
//
// Locks: it holds Manager.mu for reading while it walks the timers and each
// Timer.mu in turn; it never waits on systemd.
// Needed by: tests/bus TestNextElapseMovesOn.

package timers

import (
	"context"
	"time"
)

// maxElapseSleep bounds how long the keeper trusts the clock: a wall
// clock change moves elapses without telling anyone.
const maxElapseSleep = time.Hour

func (m *Manager) pokeElapses() {
	select {
	case m.calendarChanged <- struct{}{}:
	default:
	}
}

// keepElapsesCurrent moves each timer's NextElapse on when it passes (and
// publishes it), sleeping until the earliest one.
func (m *Manager) keepElapsesCurrent(ctx context.Context) {
	timer := time.NewTimer(maxElapseSleep)
	defer timer.Stop()
	for {
		timer.Reset(m.advanceElapses())
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.calendarChanged:
		}
	}
}

// advanceElapses recomputes the next elapse of every timer whose next
// elapse has passed, publishes the states held back long enough
// (settle.go), and returns how long until the earliest of either.
func (m *Manager) advanceElapses() time.Duration {
	now := m.cfg.Now()
	nowUsec := uint64(now.UnixMicro())
	earliest := uint64(0)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, t := range m.timers {
		t.mu.Lock()
		if t.calErr == nil && t.cal.Next != 0 && t.cal.Next <= nowUsec {
			if cal, err := m.cfg.Calendar.Parse(t.spec, now); err == nil {
				t.cal = cal
				t.publish(m.cfg.Observer)
			}
		}
		if t.cal.Next != 0 && (earliest == 0 || t.cal.Next < earliest) {
			earliest = t.cal.Next
		}
		if until := t.settled(now, m.cfg.Observer); !until.IsZero() {
			if u := uint64(until.UnixMicro()); earliest == 0 || u < earliest {
				earliest = u
			}
		}
		t.mu.Unlock()
	}
	if earliest == 0 {
		return maxElapseSleep
	}
	if earliest <= nowUsec {
		return time.Second // the engine could not move it on; try again soon
	}
	return min(time.Duration(earliest-nowUsec+1)*time.Microsecond, maxElapseSleep)
}
