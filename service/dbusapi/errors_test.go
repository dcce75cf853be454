package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/timers"
)

func TestErrorNames(t *testing.T) {
	t.Parallel()
	job := fmt.Errorf("start job for snapm-gc@x.timer: %w", timers.ErrJobFailed)
	call := fmt.Errorf("EnableUnitFiles: %w", timers.ErrSystemd)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", timers.ErrInvalidArgument), ErrInvalidArgument},
		{fmt.Errorf("x: %w", timers.ErrInvalidFlags), errInvalidArgs},
		{fmt.Errorf("x: %w", calendar.ErrInvalid), ErrInvalidCalendar},
		{fmt.Errorf("x: %w", timers.ErrNoSuchTimer), ErrNoSuchTimer},
		{fmt.Errorf("x: %w", timers.ErrTimerExists), ErrTimerExists},
		{fmt.Errorf("x: %w", timers.ErrNotEnabled), ErrNotEnabled},
		{fmt.Errorf("x: %w", errDenied), ErrAccessDenied},
		{fmt.Errorf("x: %w", errInteractiveAuth), ErrInteractiveAuthorizationRequired},
		{fmt.Errorf("x: %w", job), ErrJobFailed},
		{fmt.Errorf("x: %w", call), ErrSystemdError},
		{fmt.Errorf("x: %w", timers.ErrIO), ErrIOError},
		// A failed systemd call and the I/O after it: systemd's is the cause.
		{errors.Join(call, fmt.Errorf("%w: removing", timers.ErrIO)), ErrSystemdError},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), errTimeout},
		{errors.New("something else"), errFailed},
	} {
		if got := toDBusError(tc.err); got.Name != tc.want || got.Body[0] != tc.err.Error() {
			t.Errorf("toDBusError(%v) = %s %v, want %s with the error's text", tc.err, got.Name, got.Body, tc.want)
		}
	}
	if toDBusError(nil) != nil {
		t.Error("toDBusError(nil) is not nil")
	}
}
