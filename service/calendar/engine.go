package calendar

import (
	"errors"
	"time"
)

// MaxIterations bounds how many elapses one call may ask for.
const MaxIterations = 1000

// Engine answers questions about expressions in-process, in the host's
// zone for expressions that name none: Live's if set, else Host.
type Engine struct {
	Host *Zone
	Live *LiveZone
}

func (e Engine) host() *Zone {
	if e.Live != nil {
		return e.Live.Load()
	}
	return e.Host
}

// Parse validates expr and computes its normalized form and its next
// elapse after now (0 for never).
func (e Engine) Parse(expr string, now time.Time) (Info, error) {
	normalized, next, err := e.Elapses(expr, now, 1)
	if err != nil {
		return Info{}, err
	}
	info := Info{Normalized: normalized}
	if len(next) > 0 {
		info.Next = next[0]
	}
	return info, nil
}

// Elapses returns the normalized form and up to n next elapses after now,
// in CLOCK_REALTIME microseconds; fewer when the expression stops
// elapsing.
func (e Engine) Elapses(expr string, now time.Time, n int) (string, []uint64, error) {
	spec, err := Parse(expr, e.host())
	if err != nil {
		return "", nil, err
	}
	var out []uint64
	cur := uint64(now.UnixMicro())
	for len(out) < n {
		next, err := spec.Next(cur)
		if errors.Is(err, ErrNever) {
			break
		}
		if err != nil {
			// What systemd would log and give up on: no further elapse.
			break
		}
		out = append(out, next)
		cur = next
	}
	return spec.String(), out, nil
}
