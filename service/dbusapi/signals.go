// The Observer side: the domain's changes become what each object shows
// and the signals that announce it (InterfacesAdded, PropertiesChanged,
// InterfacesRemoved).

package dbusapi

import (
	"github.com/godbus/dbus/v5"
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
}

// TimerChanged emits one PropertiesChanged with every property that changed.
func (s *Server) TimerChanged(old, new timers.Snapshot) {
	path := s.publish(new)
	if !s.named.Load() {
		return
	}
	oldProps, newProps := timerProps(old), timerProps(new)
	changed := map[string]dbus.Variant{}
	for name, v := range newProps {
		if v.String() != oldProps[name].String() {
			changed[name] = v
		}
	}
	if len(changed) > 0 {
		s.emit(path, propertiesIface+".PropertiesChanged", introspection.Timer, changed, []string{})
	}
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
	if !mine || !s.named.Load() {
		return
	}
	s.emit(RootPath, objectManagerIface+".InterfacesRemoved", path, []string{introspection.Timer})
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

func timerProps(s timers.Snapshot) map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"Type":             str(string(s.Type)),
		"Name":             str(s.Name),
		"Unit":             str(s.Unit()),
		"CalendarSpec":     str(s.Spec),
		"Normalized":       str(s.Normalized),
		"Status":           str(string(s.Status)),
		"Enabled":          boolean(s.Enabled),
		"Running":          boolean(s.Running),
		"NextElapse":       uint64v(s.NextElapse),
		"LastTrigger":      uint64v(s.LastTrigger),
		"Occurs":           boolean(s.Occurs),
		"NeedDaemonReload": boolean(s.NeedDaemonReload),

		"LastRunResult":     str(s.LastRunResult),
		"LastRunExitStatus": int32v(s.LastRunExitStatus),
		"LastRunStart":      uint64v(s.LastRunStart),
		"LastRunEnd":        uint64v(s.LastRunEnd),
		"LastRunInvocation": str(s.LastRunInvocation),
		"Activity":          str(string(s.Activity)),
	}
}
