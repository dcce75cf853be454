// The schedule objects: what each shows, built from the schedule and the
// last published state of its two timers, and the signals that announce
// their changes (InterfacesAdded, PropertiesChanged, InterfacesRemoved).

package dbusapi

import (
	"github.com/godbus/dbus/v5"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/service/timers"
)

// scheduleNode is the path element under RootPath of every schedule.
const scheduleNode = "schedule"

// SchedulePath is the object path of the schedule name.
func SchedulePath(name string) dbus.ObjectPath {
	return RootPath + dbus.ObjectPath("/"+scheduleNode+"/"+buslabel.Escape(name))
}

// scheduleObject is an exported schedule and the properties last
// announced for it.
type scheduleObject struct {
	sched schedule.Schedule
	props map[string]dbus.Variant
}

// scheduleProps are the properties of sched, whose timers are create and
// gc (nil when there is none).
func scheduleProps(sched schedule.Schedule, create, gc *timers.Snapshot) map[string]dbus.Variant {
	enabled, running, next := timers.ScheduleState(create, gc)
	params := make(map[string]uint32, len(sched.Params))
	for _, p := range sched.Params {
		params[p.Key] = uint32(p.Value)
	}
	keys := timers.ScheduleKeys(sched.Name)
	return map[string]dbus.Variant{
		"Name":              str(sched.Name),
		"Sources":           dbus.MakeVariant(append([]string{}, sched.Sources...)),
		"DefaultSizePolicy": str(sched.DefaultSizePolicy),
		"Autoindex":         boolean(sched.Autoindex),
		"Boot":              boolean(sched.Boot),
		"Revert":            boolean(sched.Revert),
		"CalendarSpec":      str(sched.CalendarSpec),
		"GcPolicyType":      str(string(sched.PolicyType)),
		"GcPolicyParams":    dbus.MakeVariant(params),
		"CreateTimer":       dbus.MakeVariant(TimerPath(keys[0])),
		"GcTimer":           dbus.MakeVariant(TimerPath(keys[1])),
		"Enabled":           boolean(enabled),
		"Running":           boolean(running),
		"NextElapse":        uint64v(next),
	}
}

// timerSnapshot is the last published state of the timer key; s.mu held.
func (s *Server) timerSnapshot(key timers.Key) *timers.Snapshot {
	o, ok := s.objects[TimerPath(key)]
	if !ok {
		return nil
	}
	return &o.snap
}

// ScheduleAdded announces a new schedule object.
func (s *Server) ScheduleAdded(sched schedule.Schedule) { s.showSchedule(sched.Name, &sched) }

// ScheduleChanged emits the properties of the schedule that changed.
func (s *Server) ScheduleChanged(sched schedule.Schedule) { s.showSchedule(sched.Name, &sched) }

// ScheduleRemoved withdraws a schedule object.
func (s *Server) ScheduleRemoved(name string) {
	path := SchedulePath(name)
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	s.mu.Lock()
	_, ok := s.schedules[path]
	delete(s.schedules, path)
	s.mu.Unlock()
	if ok {
		s.managed.removed(path)
	}
	if ok && s.named.Load() {
		s.emit(RootPath, objectManagerIface+".InterfacesRemoved", path, []string{introspection.Schedule})
	}
}

// timerMoved shows what a change of one of its timers changes of the
// schedule name, if it has one.
func (s *Server) timerMoved(name string) { s.showSchedule(name, nil) }

// showSchedule publishes the schedule name, with sched as its new content
// (nil: as it was, its timers changed), and announces what changed. One
// schedule's signals are emitted in the order its properties were
// computed, under schedMu: its two timers change from two goroutines.
func (s *Server) showSchedule(name string, sched *schedule.Schedule) {
	path := SchedulePath(name)
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	s.mu.Lock()
	o, known := s.schedules[path]
	if sched != nil {
		o.sched = *sched
	} else if !known {
		s.mu.Unlock()
		return
	}
	keys := timers.ScheduleKeys(name)
	old := o.props
	o.props = scheduleProps(o.sched, s.timerSnapshot(keys[0]), s.timerSnapshot(keys[1]))
	s.schedules[path] = o
	s.mu.Unlock()
	s.managed.changed(path)
	if !s.named.Load() {
		return
	}
	if !known {
		s.emit(RootPath, objectManagerIface+".InterfacesAdded", path, map[string]map[string]dbus.Variant{introspection.Schedule: o.props})
		return
	}
	if changed := changedProps(old, o.props); len(changed) > 0 {
		s.emit(path, propertiesIface+".PropertiesChanged", introspection.Schedule, changed, []string{})
	}
}

// changedProps are the properties of now that differ from was.
func changedProps(was, now map[string]dbus.Variant) map[string]dbus.Variant {
	changed := map[string]dbus.Variant{}
	for name, v := range now {
		if v.String() != was[name].String() {
			changed[name] = v
		}
	}
	return changed
}

// scheduleName returns the name of the schedule at path, if there is one.
func (s *Server) scheduleName(path dbus.ObjectPath) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.schedules[path]
	return o.sched.Name, ok
}
