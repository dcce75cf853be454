package main

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// Exit codes, documented in the manual page. 2 and 4 follow the LSB's
// meanings for "invalid argument" and "insufficient privilege".
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitAccessDenied = 4
	exitNoSuchTimer  = 5
	exitNoService    = 7
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cliError carries the one line to print and the exit code.
type cliError struct {
	msg  string
	code int
}

func (e cliError) Error() string { return e.msg }

func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) {
		return pe.Name
	}
	return ""
}

// dbusMessage is the daemon's own text of an error, without the D-Bus
// wrapping.
func dbusMessage(err error) string {
	var e dbus.Error
	if errors.As(err, &e) && len(e.Body) > 0 {
		if s, ok := e.Body[0].(string); ok {
			return s
		}
	}
	return err.Error()
}

// exitCode picks the exit code for an error of the service or the bus.
func exitCode(err error) int {
	var ue usageError
	var ce cliError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue), errors.Is(err, errAmbiguous):
		return exitUsage
	}
	switch dbusErrorName(err) {
	case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
		return exitAccessDenied
	case "com.redhat.Snapm.Timers.Error.NoSuchTimer", "com.redhat.Snapm.Timers.Error.NoSuchSchedule", "org.freedesktop.DBus.Error.UnknownObject":
		return exitNoSuchTimer
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
		return exitNoService
	}
	return exitFailure
}

// failed is the one line an operation's error prints:
// "Failed to enable create/nightly: ...".
func failed(what, id string, err error) error {
	if code := exitCode(err); code == exitNoService {
		return noService(err)
	}
	subject := what
	if id != "" {
		subject += " " + id
	}
	return cliError{fmt.Sprintf("Failed to %s: %s", subject, dbusMessage(err)), exitCode(err)}
}

// noService is the daemon missing: one clear line, not a D-Bus dump.
func noService(err error) error {
	return cliError{fmt.Sprintf("snapm-timersd is not available: %s is not installed or not running (%s)",
		busName, dbusErrorName(err)), exitNoService}
}
