// The Observer side: the domain's changes become what each object shows
// and the signals that announce it (InterfacesAdded, PropertiesChanged,
// InterfacesRemoved).

package dbusapi

import (
	"fmt"
	"reflect"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"go.uber.org/zap"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/timers"
)

// publish records what snap's object shows from now on.
func (s *Server) publish(snap timers.Snapshot) dbus.ObjectPath {
	path := TimerPath(snap.Key)
	s.mu.Lock()
	s.objects[path] = object{snap: snap}
	s.mu.Unlock()
	s.managed.changed(path)
	return path
}

// TimerAdded announces a new object.
func (s *Server) TimerAdded(snap timers.Snapshot) {
	path := s.publish(snap)
	if s.named.Load() {
		s.emit(RootPath, objectManagerIface+".InterfacesAdded", path, interfaces(snap))
	}
	s.timerMoved(snap.Name)
}

// TimerChanged emits one PropertiesChanged with every property that changed.
func (s *Server) TimerChanged(old, new timers.Snapshot) {
	path := s.publish(new)
	if !s.named.Load() {
		return
	}
	if changed := changedProps(timerProps(old), timerProps(new)); len(changed) > 0 {
		s.emit(path, propertiesIface+".PropertiesChanged", introspection.Timer, changed, []string{})
	}
	s.timerMoved(new.Name)
}

// TimerRemoved withdraws an object.
func (s *Server) TimerRemoved(snap timers.Snapshot) {
	path := TimerPath(snap.Key)
	s.mu.Lock()
	// Only if the path still shows this timer, not one made since with
	// the same name.
	mine := s.objects[path].snap.Instance == snap.Instance
	if mine {
		delete(s.objects, path)
	}
	s.mu.Unlock()
	if mine {
		s.managed.removed(path)
	}
	if mine && s.named.Load() {
		s.emit(RootPath, objectManagerIface+".InterfacesRemoved", path, []string{introspection.Timer})
	}
	s.timerMoved(snap.Name)
}

func (s *Server) emit(path dbus.ObjectPath, name string, values ...any) {
	if err := s.cfg.Conn.Emit(path, name, values...); err != nil {
		s.cfg.Log.Error("emitting signal", zap.String("signal", name), zap.String("path", string(path)), zap.Error(err))
	}
}

// interfaces are the interfaces of snap's object, with their properties.
func interfaces(snap timers.Snapshot) map[string]map[string]dbus.Variant {
	return map[string]map[string]dbus.Variant{introspection.Timer: timerProps(snap)}
}

// The properties' signatures, worked out once: MakeVariant works each out
// by reflection, and GetManagedObjects makes 18 variants for every timer.
var (
	sigString = dbus.SignatureOf("")
	sigBool   = dbus.SignatureOf(false)
	sigUint64 = dbus.SignatureOf(uint64(0))
	sigInt32  = dbus.SignatureOf(int32(0))
)

func str(v string) dbus.Variant     { return dbus.MakeVariantWithSignature(v, sigString) }
func boolean(v bool) dbus.Variant   { return dbus.MakeVariantWithSignature(v, sigBool) }
func uint64v(v uint64) dbus.Variant { return dbus.MakeVariantWithSignature(v, sigUint64) }
func int32v(v int32) dbus.Variant   { return dbus.MakeVariantWithSignature(v, sigInt32) }

// The Timer interface's properties are those its XML declares, each the
// timers.Snapshot field of the same name, so that a property added to the
// XML and to the domain's Snapshot is published with no change here
// (TestTimerPropsFollowTheXML); timerDerived are the few whose value is no
// field of their name.
var timerDerived = map[string]func(timers.Snapshot) dbus.Variant{
	"CalendarSpec": func(s timers.Snapshot) dbus.Variant { return str(s.Spec) },
	"Unit":         func(s timers.Snapshot) dbus.Variant { return str(s.Unit()) },
}

// A property and how to read it from a Snapshot: derive, or the field at
// index made a variant by convert.
type timerProp struct {
	name    string
	derive  func(timers.Snapshot) dbus.Variant
	index   []int
	convert func(reflect.Value) dbus.Variant
}

// The D-Bus types a Snapshot field can have, by the kind of the field.
var fieldConverters = map[string]struct {
	kind    reflect.Kind
	convert func(reflect.Value) dbus.Variant
}{
	"s": {reflect.String, func(v reflect.Value) dbus.Variant { return str(v.String()) }},
	"b": {reflect.Bool, func(v reflect.Value) dbus.Variant { return boolean(v.Bool()) }},
	"t": {reflect.Uint64, func(v reflect.Value) dbus.Variant { return uint64v(v.Uint()) }},
	"i": {reflect.Int32, func(v reflect.Value) dbus.Variant { return int32v(int32(v.Int())) }},
}

var timerProperties = func() []timerProp {
	iface, err := introspection.Interface(introspection.Timer)
	if err == nil {
		var props []timerProp
		if props, err = snapshotProps(iface, timerDerived); err == nil {
			return props
		}
	}
	panic(err) // the embedded XML and the domain disagree: every test of this package stops here
}()

// snapshotProps matches iface's properties with derived and Snapshot's
// fields.
func snapshotProps(iface introspect.Interface, derived map[string]func(timers.Snapshot) dbus.Variant) ([]timerProp, error) {
	snapshot := reflect.TypeFor[timers.Snapshot]()
	props := make([]timerProp, 0, len(iface.Properties))
	for _, p := range iface.Properties {
		if d, ok := derived[p.Name]; ok {
			props = append(props, timerProp{name: p.Name, derive: d})
			continue
		}
		f, ok := snapshot.FieldByName(p.Name)
		if !ok {
			return nil, fmt.Errorf("%s.%s: timers.Snapshot has no field %s", iface.Name, p.Name, p.Name)
		}
		c, ok := fieldConverters[p.Type]
		if !ok || f.Type.Kind() != c.kind {
			return nil, fmt.Errorf("%s.%s is %q, timers.Snapshot.%s is %s", iface.Name, p.Name, p.Type, p.Name, f.Type)
		}
		props = append(props, timerProp{name: p.Name, index: f.Index, convert: c.convert})
	}
	return props, nil
}

func timerProps(s timers.Snapshot) map[string]dbus.Variant {
	v := reflect.ValueOf(s)
	out := make(map[string]dbus.Variant, len(timerProperties))
	for _, p := range timerProperties {
		if p.derive != nil {
			out[p.name] = p.derive(s)
		} else {
			out[p.name] = p.convert(v.FieldByIndex(p.index))
		}
	}
	return out
}
