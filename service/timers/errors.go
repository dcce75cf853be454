package timers

import (
	"errors"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// The error classes callers can tell apart. Every error the domain returns
// wraps exactly one of them, so the D-Bus surface maps errors to names in
// one place; the Systemd port's errors say their class through Is.
var (
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidFlags: flags no method takes, or that contradict each
	// other.
	ErrInvalidFlags    = errors.New("invalid flags")
	ErrInvalidCalendar = calendar.ErrInvalid
	ErrNoSuchTimer     = errors.New("no such timer")
	// ErrNoSuchSchedule: no schedule file of that name (snapm's
	// schedule.d), or none that snapm can load.
	ErrNoSuchSchedule = errors.New("no such schedule")
	// ErrScheduleExists: a schedule file of that name is already there.
	ErrScheduleExists = errors.New("schedule already exists")
	// ErrConflict: another writer changed the timer or schedule while an
	// operation ran, so the state the operation promised did not hold.
	ErrConflict    = errors.New("changed by another writer")
	ErrTimerExists = errors.New("timer already exists")
	ErrNotEnabled  = errors.New("timer is not enabled")
	// ErrMasked: the unit file is masked, so systemd will neither enable
	// nor start it.
	ErrMasked = errors.New("timer is masked")
	ErrIO     = errors.New("I/O error")
	// ErrJobFailed: a systemd job ended in a result other than "done".
	ErrJobFailed = errors.New("systemd job failed")
	// ErrSystemd: systemd refused or failed a call.
	ErrSystemd = errors.New("systemd call failed")
	// ErrBusy: the timer's service is running, so it cannot be run now.
	ErrBusy = errors.New("busy")
)
