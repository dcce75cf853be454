// The calendar preview frontends show while a user types.
//
// Locks: none; it reads no timer. Previews are open to every caller, so
// they run through the Previews port, which keeps one caller's flood from
// delaying anyone else's previews and the timer operations (which do not
// pass through it). Each preview is bounded by its work: at most
// calendar.MaxIterations elapses, never by time, so that a valid one is
// never refused on a busy machine.

package timers

import (
	"fmt"
	"time"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// Previews runs previews fairly among callers (package fairrun).
type Previews interface {
	// Run runs fn for caller in its turn; fn calls pause between pieces
	// of its work. An error means it did not run.
	Run(caller string, fn func(pause func())) error
}

// previewChunk elapses are computed between two pauses.
const previewChunk = 8

// ParseCalendar is the preview frontends show while a user types: the
// normalized form and the next n elapses from now (none if it never
// elapses). It changes nothing. caller tells callers apart, for fairness.
func (m *Manager) ParseCalendar(caller, spec string, n uint32) (string, []uint64, error) {
	return m.ParseCalendarAt(caller, spec, uint64(m.cfg.Now().UnixMicro()), n)
}

// ParseCalendarAt is ParseCalendar from the CLOCK_REALTIME microsecond
// base instead of now, as systemd-analyze calendar --base-time.
func (m *Manager) ParseCalendarAt(caller, spec string, base uint64, n uint32) (string, []uint64, error) {
	if n > calendar.MaxIterations {
		return "", nil, fmt.Errorf("%w: %d iterations asked for, at most %d", ErrInvalidArgument, n, calendar.MaxIterations)
	}
	if err := calendar.CheckText(spec); err != nil {
		return "", nil, err
	}
	if n <= previewChunk {
		// A parse and at most one chunk: as cheap as a rejection (below a
		// millisecond), which anyone may ask for as often, so not worth a
		// wait for a turn; the create dialog's preview is one.
		normalized, next, err := m.cfg.Calendar.Elapses(spec, usecTime(base), int(n))
		if next == nil {
			next = []uint64{} // none: an empty list on the bus
		}
		return normalized, next, err
	}
	var (
		normalized string
		next       []uint64
		err        error
	)
	run := func(pause func()) { normalized, next, err = m.elapses(spec, base, int(n), pause) }
	if m.cfg.Previews == nil {
		run(func() {})
	} else if rerr := m.cfg.Previews.Run(caller, run); rerr != nil {
		return "", nil, fmt.Errorf("%w: %w; try again", ErrInvalidArgument, rerr)
	}
	return normalized, next, err
}

// elapses computes n elapses a chunk at a time, pausing between chunks.
func (m *Manager) elapses(spec string, base uint64, n int, pause func()) (string, []uint64, error) {
	next := make([]uint64, 0, n)
	var normalized string
	for cur := base; len(next) < n; {
		want := min(previewChunk, n-len(next))
		norm, chunk, err := m.cfg.Calendar.Elapses(spec, usecTime(cur), want)
		if err != nil {
			return "", nil, err
		}
		normalized = norm
		next = append(next, chunk...)
		if len(chunk) < want {
			break // it stops elapsing
		}
		cur = chunk[len(chunk)-1]
		pause()
	}
	return normalized, next, nil
}

func usecTime(u uint64) time.Time { return time.UnixMicro(int64(u)) }
