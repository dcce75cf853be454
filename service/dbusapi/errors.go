package dbusapi

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// ErrorPrefix starts the name of every error of ours.
const ErrorPrefix = "com.redhat.Snapm.Timers.Error."

// Error names.
const (
	ErrInvalidArgument = ErrorPrefix + "InvalidArgument"
	ErrInvalidCalendar = ErrorPrefix + "InvalidCalendar"
	ErrNoSuchTimer     = ErrorPrefix + "NoSuchTimer"
	ErrTimerExists     = ErrorPrefix + "TimerExists"
	ErrNoSuchSchedule  = ErrorPrefix + "NoSuchSchedule"
	ErrScheduleExists  = ErrorPrefix + "ScheduleExists"
	ErrConflict        = ErrorPrefix + "Conflict"
	ErrNotEnabled      = ErrorPrefix + "NotEnabled"
	ErrMasked          = ErrorPrefix + "Masked"
	ErrJobFailed       = ErrorPrefix + "JobFailed"
	ErrSystemdError    = ErrorPrefix + "SystemdError"
	ErrIOError         = ErrorPrefix + "IOError"
	ErrBusy            = ErrorPrefix + "Busy"
	ErrAccessDenied    = "org.freedesktop.DBus.Error.AccessDenied"
	// ErrInteractiveAuthorizationRequired is the name sd-bus and GLib
	// clients know: retry with the flag set, after asking the user.
	ErrInteractiveAuthorizationRequired = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
	errTimeout                          = "org.freedesktop.DBus.Error.Timeout"
	errFailed                           = "org.freedesktop.DBus.Error.Failed"
	errUnknownObject                    = "org.freedesktop.DBus.Error.UnknownObject"
	errInvalidArgs                      = "org.freedesktop.DBus.Error.InvalidArgs"
	errUnknownProperty                  = "org.freedesktop.DBus.Error.UnknownProperty"
	errReadOnly                         = "org.freedesktop.DBus.Error.PropertyReadOnly"
)

// The authorization failures; only this surface authorizes, so only it
// produces them.
var (
	errDenied = errors.New("access denied")
	// errInteractiveAuth: polkit would allow the call after authenticating
	// someone, but the caller did not allow that.
	errInteractiveAuth = errors.New("interactive authorization required")
)

// errorName is the one mapping from the domain's errors to D-Bus names.
// Order matters where one error wraps several: the most specific cause
// wins (a failed job before the I/O that followed it).
func errorName(err error) string {
	switch {
	case errors.Is(err, errDenied):
		return ErrAccessDenied
	case errors.Is(err, errInteractiveAuth):
		return ErrInteractiveAuthorizationRequired
	case errors.Is(err, timers.ErrInvalidArgument):
		return ErrInvalidArgument
	case errors.Is(err, timers.ErrInvalidFlags):
		// As systemd's own *WithFlags methods answer bad flags.
		return errInvalidArgs
	case errors.Is(err, timers.ErrInvalidCalendar):
		return ErrInvalidCalendar
	case errors.Is(err, timers.ErrNoSuchTimer):
		return ErrNoSuchTimer
	case errors.Is(err, timers.ErrTimerExists):
		return ErrTimerExists
	case errors.Is(err, timers.ErrNoSuchSchedule):
		return ErrNoSuchSchedule
	case errors.Is(err, timers.ErrScheduleExists):
		return ErrScheduleExists
	case errors.Is(err, timers.ErrConflict):
		return ErrConflict
	case errors.Is(err, timers.ErrNotEnabled):
		return ErrNotEnabled
	case errors.Is(err, timers.ErrMasked):
		return ErrMasked
	case errors.Is(err, timers.ErrBusy):
		return ErrBusy
	case errors.Is(err, timers.ErrJobFailed):
		return ErrJobFailed
	case errors.Is(err, timers.ErrSystemd):
		return ErrSystemdError
	case errors.Is(err, timers.ErrIO):
		return ErrIOError
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	}
	return errFailed
}

func toDBusError(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	return dbus.NewError(errorName(err), []any{err.Error()})
}

func newError(name, msg string) *dbus.Error { return dbus.NewError(name, []any{msg}) }
