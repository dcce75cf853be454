// The standard interfaces: org.freedesktop.DBus.Properties,
// ObjectManager and Introspectable, answered from what was last published.

package dbusapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/timers"
)

func (s *Server) managerProps() map[string]dbus.Variant {
	return map[string]dbus.Variant{"Version": dbus.MakeVariant(s.cfg.Version)}
}

// --- org.freedesktop.DBus.Properties, for the root and every timer ---

type properties struct{ s *Server }

// props returns the properties of interface iface at path.
func (p properties) props(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	if derr := p.s.checkArgs(msg); derr != nil {
		return nil, derr
	}
	path := msgPath(msg)
	if path == RootPath {
		if iface != introspection.Manager && iface != "" {
			return nil, newError("org.freedesktop.DBus.Error.UnknownInterface", fmt.Sprintf("%s has no interface %s", path, iface))
		}
		return p.s.managerProps(), nil
	}
	p.s.mu.RLock()
	o, ok := p.s.objects[path]
	sched, isSchedule := p.s.schedules[path]
	p.s.mu.RUnlock()
	if isSchedule {
		if iface != introspection.Schedule && iface != "" {
			return nil, newError("org.freedesktop.DBus.Error.UnknownInterface", fmt.Sprintf("%s has no interface %s", path, iface))
		}
		return sched.props, nil
	}
	if !ok {
		return nil, noObject(path)
	}
	if iface != introspection.Timer && iface != "" {
		return nil, newError("org.freedesktop.DBus.Error.UnknownInterface", fmt.Sprintf("%s has no interface %s", path, iface))
	}
	return timerProps(o.snap), nil
}

func (p properties) Get(msg dbus.Message, iface, name string) (dbus.Variant, *dbus.Error) {
	all, derr := p.props(msg, iface)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	v, ok := all[name]
	if !ok {
		return dbus.Variant{}, newError(errUnknownProperty, fmt.Sprintf("no property %s on %s", name, iface))
	}
	return v, nil
}

func (p properties) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	return p.props(msg, iface)
}

func (p properties) Set(msg dbus.Message, iface, name string, _ dbus.Variant) *dbus.Error {
	all, derr := p.props(msg, iface)
	if derr != nil {
		return derr
	}
	if _, ok := all[name]; !ok {
		return newError(errUnknownProperty, fmt.Sprintf("no property %s on %s", name, iface))
	}
	return newError(errReadOnly, fmt.Sprintf("property %s is read-only", name))
}

// --- org.freedesktop.DBus.ObjectManager ---

type objectManager struct{ s *Server }

// GetManagedObjects is godbus's answer, for a connection whose stream is
// godbus's own (Config.Raw unset); see managed.go for the other.
func (o objectManager) GetManagedObjects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
	// Copied first, so that publishing waits only for the copy, not for
	// the properties of every timer to be built.
	type exported struct {
		path dbus.ObjectPath
		snap timers.Snapshot
	}
	o.s.mu.RLock()
	all := make([]exported, 0, len(o.s.objects))
	for path, obj := range o.s.objects {
		all = append(all, exported{path, obj.snap})
	}
	out := make(map[dbus.ObjectPath]map[string]map[string]dbus.Variant, len(all)+len(o.s.schedules))
	for path, sched := range o.s.schedules {
		out[path] = map[string]map[string]dbus.Variant{introspection.Schedule: sched.props}
	}
	o.s.mu.RUnlock()
	for _, e := range all {
		out[e.path] = interfaces(e.snap)
	}
	return out, nil
}

// managedInterfaces is what GetManagedObjects shows of the object at
// path, and whether there is one.
func (s *Server) managedInterfaces(path dbus.ObjectPath) (map[string]map[string]dbus.Variant, bool) {
	s.mu.RLock()
	o, ok := s.objects[path]
	sched, isSched := s.schedules[path]
	s.mu.RUnlock()
	switch {
	case ok:
		return interfaces(o.snap), true
	case isSched:
		return map[string]map[string]dbus.Variant{introspection.Schedule: sched.props}, true
	}
	return nil, false
}

// --- org.freedesktop.DBus.Introspectable ---

type introspectable struct{ s *Server }

func (i introspectable) Introspect(msg dbus.Message) (string, *dbus.Error) {
	path := msgPath(msg)
	switch {
	case path == RootPath:
		return i.s.intro.root(), nil
	case path == RootPath+"/"+scheduleNode:
		return i.s.intro.typeNode(i.s.scheduleLabels()), nil
	case strings.HasPrefix(string(path), string(RootPath)+"/"):
		if typ, err := timers.ParseType(string(path[len(RootPath)+1:])); err == nil {
			return i.s.intro.typeNode(i.s.childLabels(typ)), nil
		}
	}
	if _, ok := i.s.lookup(path); ok {
		return i.s.intro.timer(), nil
	}
	if _, ok := i.s.scheduleName(path); ok {
		return i.s.intro.schedule(), nil
	}
	return "", noObject(path)
}

// childLabels lists the object path labels of the timers of type typ.
func (s *Server) childLabels(typ timers.Type) []string {
	var labels []string
	for _, snap := range s.domain.List() {
		if snap.Type == typ {
			labels = append(labels, buslabel.Escape(snap.Name))
		}
	}
	return labels
}

// scheduleLabels lists the object path labels of the schedules.
func (s *Server) scheduleLabels() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	labels := make([]string, 0, len(s.schedules))
	for _, o := range s.schedules {
		labels = append(labels, buslabel.Escape(o.sched.Name))
	}
	slices.Sort(labels)
	return labels
}
