// The calendar preview frontends show while a user types.
//
// Locks: none; it reads no timer.

package timers

import (
	"fmt"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// ParseCalendar is the preview frontends show while a user types: the
// normalized form and the next n elapses from now (none if it never
// elapses). It changes nothing.
func (m *Manager) ParseCalendar(spec string, n uint32) (string, []uint64, error) {
	if n > calendar.MaxIterations {
		return "", nil, fmt.Errorf("%w: %d iterations asked for, at most %d", ErrInvalidArgument, n, calendar.MaxIterations)
	}
	if err := calendar.CheckText(spec); err != nil {
		return "", nil, err
	}
	normalized, next, err := m.cfg.Calendar.Elapses(spec, m.cfg.Now(), int(n))
	if next == nil {
		next = []uint64{}
	}
	return normalized, next, err
}
