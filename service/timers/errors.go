package timers

import (
	"errors"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// The error classes callers can tell apart. Every error the domain returns
// wraps exactly one of them (or a systemd error type), so the D-Bus surface
// maps errors to names in one place.
var (
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidFlags: flags no method takes, or that contradict each
	// other.
	ErrInvalidFlags    = errors.New("invalid flags")
	ErrInvalidCalendar = calendar.ErrInvalid
	ErrNoSuchTimer     = errors.New("no such timer")
	ErrTimerExists     = errors.New("timer already exists")
	ErrNotEnabled      = errors.New("timer is not enabled")
	ErrIO              = errors.New("I/O error")
	// ErrBusy: the timer's service is running, so it cannot be run now.
	ErrBusy = errors.New("busy")
)
