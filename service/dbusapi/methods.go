// The method adapters of com.redhat.Snapm.Timers.Manager and .Timer: each
// checks its arguments, finds the timer and hands the call to the domain
// through Server.mutate.

package dbusapi

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// --- com.redhat.Snapm.Timers.Manager ---

type managerMethods struct{ s *Server }

func (m managerMethods) CreateTimer(msg dbus.Message, typ, name, spec string) (dbus.ObjectPath, *dbus.Error) {
	return m.create(msg, "CreateTimer", typ, name, spec, 0)
}

// CreateTimerWithFlags is CreateTimer, then Enable and Start as flags ask,
// in one call (one round trip, and the timer's two files written at once).
func (m managerMethods) CreateTimerWithFlags(msg dbus.Message, typ, name, spec string, flags uint64) (dbus.ObjectPath, *dbus.Error) {
	return m.create(msg, "CreateTimerWithFlags", typ, name, spec, flags)
}

func (m managerMethods) create(msg dbus.Message, method, typ, name, spec string, flags uint64) (dbus.ObjectPath, *dbus.Error) {
	s := m.s
	if derr := s.checkArgs(msg); derr != nil {
		return "", derr
	}
	// Validate before authorizing, so that a refusal never depends on
	// (or reveals) anything but the caller.
	key, err := s.domain.CheckNew(typ, name, spec, flags)
	if err != nil {
		return "", toDBusError(err)
	}
	var snap timers.Snapshot
	derr := s.mutate(msg, method, key, func(ctx context.Context) (err error) {
		snap, err = s.domain.CreateWithFlags(ctx, typ, name, spec, flags)
		return err
	})
	if derr != nil {
		return "", derr
	}
	return TimerPath(snap.Key), nil
}

func (m managerMethods) GetTimer(msg dbus.Message, typ, name string) (dbus.ObjectPath, *dbus.Error) {
	if derr := m.s.checkArgs(msg); derr != nil {
		return "", derr
	}
	snap, err := m.s.domain.Get(typ, name)
	if err != nil {
		return "", toDBusError(err)
	}
	return TimerPath(snap.Key), nil
}

func (m managerMethods) ListTimers() ([]dbus.ObjectPath, *dbus.Error) {
	list := m.s.domain.List()
	out := make([]dbus.ObjectPath, len(list))
	for i, snap := range list {
		out[i] = TimerPath(snap.Key)
	}
	return out, nil
}

// ParseCalendar changes nothing, so it is open to every caller.
func (m managerMethods) ParseCalendar(msg dbus.Message, spec string, iterations uint32) (string, []uint64, *dbus.Error) {
	if derr := m.s.checkArgs(msg); derr != nil {
		return "", nil, derr
	}
	normalized, next, err := m.s.domain.ParseCalendar(m.s.previewer(msg), spec, iterations)
	if err != nil {
		return "", nil, toDBusError(err)
	}
	return normalized, next, nil
}

// ParseCalendarAt is ParseCalendar from a given time; open to every caller.
func (m managerMethods) ParseCalendarAt(msg dbus.Message, spec string, base uint64, iterations uint32) (string, []uint64, *dbus.Error) {
	if derr := m.s.checkArgs(msg); derr != nil {
		return "", nil, derr
	}
	normalized, next, err := m.s.domain.ParseCalendarAt(m.s.previewer(msg), spec, base, iterations)
	if err != nil {
		return "", nil, toDBusError(err)
	}
	return normalized, next, nil
}

func (m managerMethods) RemoveTimer(msg dbus.Message, path dbus.ObjectPath) *dbus.Error {
	if derr := m.s.checkArgs(msg); derr != nil {
		return derr
	}
	key, ok := m.s.lookup(path)
	if !ok {
		return newError(ErrNoSuchTimer, fmt.Sprintf("no timer at %s", path))
	}
	return m.s.mutate(msg, "RemoveTimer", key, func(ctx context.Context) error {
		return m.s.domain.Remove(ctx, key)
	})
}

// --- com.redhat.Snapm.Timers.Timer, for every timer path ---

type timerMethods struct{ s *Server }

func (t timerMethods) do(msg dbus.Message, method string, fn func(ctx context.Context, key timers.Key) (timers.Snapshot, error)) *dbus.Error {
	path := msgPath(msg)
	key, ok := t.s.lookup(path)
	if !ok {
		return noObject(path)
	}
	return t.s.mutate(msg, method, key, func(ctx context.Context) error {
		_, err := fn(ctx, key)
		return err
	})
}

func (t timerMethods) Enable(msg dbus.Message) *dbus.Error {
	return t.do(msg, "Enable", t.s.domain.Enable)
}

func (t timerMethods) Start(msg dbus.Message) *dbus.Error {
	return t.do(msg, "Start", t.s.domain.Start)
}

func (t timerMethods) Stop(msg dbus.Message) *dbus.Error {
	return t.do(msg, "Stop", t.s.domain.Stop)
}

func (t timerMethods) Disable(msg dbus.Message) *dbus.Error {
	return t.do(msg, "Disable", t.s.domain.Disable)
}

// RunNow returns once systemd has queued the run; the caller follows
// Activity and LastRunResult.
func (t timerMethods) RunNow(msg dbus.Message) *dbus.Error {
	return t.do(msg, "RunNow", t.s.domain.RunNow)
}

func (t timerMethods) SetCalendarSpec(msg dbus.Message, spec string) *dbus.Error {
	if derr := t.s.checkArgs(msg); derr != nil {
		return derr
	}
	// Validated before the caller is authorized, like CreateTimer's
	// arguments: a bad expression is refused the same way for everyone.
	if _, _, err := t.s.domain.ParseCalendar("", spec, 0); err != nil {
		return toDBusError(err)
	}
	return t.do(msg, "SetCalendarSpec", func(ctx context.Context, key timers.Key) (timers.Snapshot, error) {
		return t.s.domain.SetCalendarSpec(ctx, key, spec)
	})
}
