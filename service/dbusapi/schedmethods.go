// The method adapters of the schedules: the Manager's CreateSchedule,
// DeleteSchedule, GetSchedule and ListSchedules, and
// com.redhat.Snapm.Timers.Schedule on every schedule path. Each checks its
// arguments, validates before it authorizes, and hands the call to the
// domain through Server.act.

package dbusapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/godbus/dbus/v5"
)

func (m managerMethods) CreateSchedule(msg dbus.Message, name string, sources []string, spec string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	s := m.s
	if derr := s.checkArgs(msg); derr != nil {
		return "", derr
	}
	opts, err := decodeOptions(options)
	if err != nil {
		return "", toDBusError(err)
	}
	sched, err := s.domain.CheckSchedule(name, sources, spec, opts)
	if err != nil {
		return "", toDBusError(err)
	}
	derr := s.act(msg, Action{Method: "CreateSchedule", Schedule: name}, func(ctx context.Context) error {
		return s.domain.CreateSchedule(ctx, sched)
	})
	if derr != nil {
		return "", derr
	}
	return SchedulePath(name), nil
}

func (m managerMethods) DeleteSchedule(msg dbus.Message, path dbus.ObjectPath) *dbus.Error {
	if derr := m.s.checkArgs(msg); derr != nil {
		return derr
	}
	name, ok := m.s.scheduleName(path)
	if !ok {
		return newError(ErrNoSuchSchedule, fmt.Sprintf("no schedule at %s", path))
	}
	return m.s.act(msg, Action{Method: "DeleteSchedule", Schedule: name}, func(ctx context.Context) error {
		return m.s.domain.DeleteSchedule(ctx, name)
	})
}

func (m managerMethods) GetSchedule(msg dbus.Message, name string) (dbus.ObjectPath, *dbus.Error) {
	if derr := m.s.checkArgs(msg); derr != nil {
		return "", derr
	}
	if _, ok := m.s.scheduleName(SchedulePath(name)); !ok {
		return "", newError(ErrNoSuchSchedule, fmt.Sprintf("no schedule named %q", name))
	}
	return SchedulePath(name), nil
}

func (m managerMethods) ListSchedules() ([]dbus.ObjectPath, *dbus.Error) {
	m.s.mu.RLock()
	out := make([]dbus.ObjectPath, 0, len(m.s.schedules))
	for path := range m.s.schedules {
		out = append(out, path)
	}
	m.s.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// --- com.redhat.Snapm.Timers.Schedule, for every schedule path ---

type scheduleMethods struct{ s *Server }

func (sm scheduleMethods) do(msg dbus.Message, method string, fn func(ctx context.Context, name string) error) *dbus.Error {
	if derr := sm.s.checkArgs(msg); derr != nil {
		return derr
	}
	path := msgPath(msg)
	name, ok := sm.s.scheduleName(path)
	if !ok {
		return newError(ErrNoSuchSchedule, fmt.Sprintf("no schedule at %s", path))
	}
	return sm.s.act(msg, Action{Method: method, Schedule: name}, func(ctx context.Context) error { return fn(ctx, name) })
}

func (sm scheduleMethods) Enable(msg dbus.Message, start bool) *dbus.Error {
	return sm.do(msg, "Enable", func(ctx context.Context, name string) error {
		return sm.s.domain.EnableSchedule(ctx, name, start)
	})
}

func (sm scheduleMethods) Start(msg dbus.Message) *dbus.Error {
	return sm.do(msg, "Start", sm.s.domain.StartSchedule)
}

func (sm scheduleMethods) Stop(msg dbus.Message) *dbus.Error {
	return sm.do(msg, "Stop", sm.s.domain.StopSchedule)
}

func (sm scheduleMethods) Disable(msg dbus.Message) *dbus.Error {
	return sm.do(msg, "Disable", sm.s.domain.DisableSchedule)
}

func (sm scheduleMethods) Edit(msg dbus.Message, changes map[string]dbus.Variant) *dbus.Error {
	if derr := sm.s.checkArgs(msg); derr != nil {
		return derr
	}
	opts, err := decodeOptions(changes)
	if err != nil {
		return toDBusError(err)
	}
	// Validated before the caller is authorized, as CreateSchedule's
	// arguments are.
	path := msgPath(msg)
	name, ok := sm.s.scheduleName(path)
	if !ok {
		return newError(ErrNoSuchSchedule, fmt.Sprintf("no schedule at %s", path))
	}
	if _, err := sm.s.domain.CheckEdit(name, opts); err != nil {
		return toDBusError(err)
	}
	return sm.do(msg, "Edit", func(ctx context.Context, name string) error {
		return sm.s.domain.EditSchedule(ctx, name, opts)
	})
}
