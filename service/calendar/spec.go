package calendar

import (
	"fmt"
	"syscall"
)

// The bounds systemd 252 enforces.
const (
	minYear     = 1970
	maxYear     = 2199
	usecPerSec  = 1000000
	maxChainLen = 240 // components in one comma list
	allDays     = 127 // weekday bits for Mon..Sun
	intMax      = 1<<31 - 1
)

// component is one element of a comma list: start, or start..stop, with an
// optional /repeat. stop is -1 when absent.
type component struct {
	start, stop, repeat int
}

// Spec is a parsed, normalized calendar event expression.
type Spec struct {
	// weekdays has bit 0 for Monday .. bit 6 for Sunday; -1 means any day.
	weekdays int
	// A nil chain means '*'. usec holds seconds in microseconds.
	year, month, day, hour, minute, usec []component
	endOfMonth                           bool
	utc                                  bool
	// dst is 0 or 1 when the expression named one of the host zone's
	// abbreviations (standard or daylight time), -1 otherwise.
	dst int
	// timezone is a zone name under /usr/share/zoneinfo, or "".
	timezone string
	zone     *Zone // where Next computes: host, UTC or timezone
	host     *Zone
}

// Error is a rejected expression: what is wrong, where, and the errno
// systemd 252 gives it (EINVAL, ERANGE or ENOBUFS).
type Error struct {
	Spec  string
	Msg   string
	Errno syscall.Errno
	// Hint suggests what may have been meant, or is "".
	Hint string
	// whole: Msg names the whole expression already.
	whole bool
}

func (e *Error) Error() string {
	msg := e.Msg
	if !e.whole {
		msg = fmt.Sprintf("%s in %q", msg, e.Spec)
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Is makes every Error an ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Parse parses expr the way systemd 252 does, with host as the zone of
// expressions that name none.
func Parse(expr string, host *Zone) (*Spec, error) {
	spec, err := parse(expr, host)
	if err != nil {
		return nil, explainSpace(err, expr, host)
	}
	return spec, nil
}

func parse(expr string, host *Zone) (*Spec, error) {
	c := &Spec{dst: -1, host: host}
	p := &parser{spec: expr, s: expr, c: c}
	if err := p.suffix(); err != nil {
		return nil, err
	}
	if p.s == "" {
		return nil, p.fail(syscall.EINVAL, "no calendar expression")
	}
	if body := p.s; !p.shorthand() {
		if err := p.expression(); err != nil {
			return nil, p.explain(err, body)
		}
	}
	c.normalize()
	if err := c.validate(); err != nil {
		return nil, &Error{Spec: expr, Msg: err.Error(), Errno: syscall.EINVAL}
	}
	switch {
	case c.utc:
		c.zone = UTC
	case c.timezone != "":
		z, err := LoadZone(c.timezone)
		if err != nil {
			return nil, p.fail(syscall.EINVAL, "time zone %s: %v", c.timezone, err)
		}
		c.zone = z
	default:
		c.zone = host
	}
	return c, nil
}
