// Package dbusapi is the D-Bus surface of snapm-timersd: thin adapters that
// decode a call, authorize it, hand it to the timer domain and map the
// outcome, plus the signals that mirror the domain's changes.
package dbusapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/timers"
)

// Bus name and root object path.
const (
	BusName  = "com.redhat.Snapm.Timers"
	RootPath = dbus.ObjectPath("/com/redhat/Snapm/Timers")
)

const (
	objectManagerIface = "org.freedesktop.DBus.ObjectManager"
	propertiesIface    = "org.freedesktop.DBus.Properties"
	introspectIface    = "org.freedesktop.DBus.Introspectable"
)

// Domain is what the surface needs of the timer domain.
type Domain interface {
	Get(typ, name string) (timers.Snapshot, error)
	List() []timers.Snapshot
	CheckNew(typ, name, spec string) (timers.Key, error)
	Create(ctx context.Context, typ, name, spec string) (timers.Snapshot, error)
	Remove(ctx context.Context, key timers.Key) error
	Enable(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Start(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Stop(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Disable(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	SetCalendarSpec(ctx context.Context, key timers.Key, spec string) (timers.Snapshot, error)
	RunNow(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	ParseCalendar(spec string, iterations uint32) (normalized string, next []uint64, err error)
	ParseCalendarAt(spec string, base uint64, iterations uint32) (normalized string, next []uint64, err error)
}

// Authorizer decides whether sender may do act; it returns the caller's uid
// for the log.
type Authorizer interface {
	Authorize(ctx context.Context, sender string, act Action) (uid uint32, err error)
}

// Config wires a Server.
type Config struct {
	Conn       *dbus.Conn
	Authorizer Authorizer
	Log        *zap.Logger
	Version    string
	// CallTimeout bounds one method call, systemd jobs included.
	CallTimeout time.Duration
}

// Server exports the objects and turns domain changes into signals. It is
// the domain's Observer, so create it first and give it the domain with
// Serve.
type Server struct {
	cfg    Config
	ctx    context.Context
	domain Domain
	intro  introspector
	// signatures maps each method name to its arguments' signature.
	signatures map[string]string

	mu      sync.RWMutex
	objects map[dbus.ObjectPath]object

	// calls counts the state-changing calls in flight; once stopping is
	// set no new one begins, so Wait can tell when the last one is over.
	callsMu  sync.Mutex
	stopping bool
	calls    sync.WaitGroup
}

// object is an exported timer: its key, and its properties as last
// published, built once per change and shared read-only by every reply
// that shows them (property reads, GetManagedObjects).
type object struct {
	key      timers.Key
	instance uint64
	ifaces   map[string]map[string]dbus.Variant
}

// NewServer prepares the surface; nothing is exported until Export.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	intro, err := newIntrospector()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, ctx: ctx, intro: intro, signatures: intro.signatures(), objects: map[dbus.ObjectPath]object{}}, nil
}

// TimerPath is the object path of a timer.
func TimerPath(key timers.Key) dbus.ObjectPath {
	return RootPath + dbus.ObjectPath("/"+string(key.Type)+"/"+timers.EscapeLabel(key.Name))
}

// Export puts the objects on the bus; call it before requesting the name so
// no caller ever finds the name without the objects.
func (s *Server) Export(domain Domain) error {
	s.domain = domain
	c := s.cfg.Conn
	exports := []struct {
		v       any
		iface   string
		subtree bool
	}{
		{managerMethods{s}, introspection.Manager, false},
		{objectManager{s}, objectManagerIface, false},
		// One registration serves every timer: the path in the message
		// names the timer, so 10,000 timers cost no more than one.
		{timerMethods{s}, introspection.Timer, true},
		{properties{s}, propertiesIface, true},
		{introspectable{s}, introspectIface, true},
	}
	for _, e := range exports {
		var err error
		if e.subtree {
			err = c.ExportSubtree(e.v, RootPath, e.iface)
		} else {
			err = c.Export(e.v, RootPath, e.iface)
		}
		if err != nil {
			return fmt.Errorf("exporting %s: %w", e.iface, err)
		}
	}
	return nil
}

// RequestName claims the bus name; it fails if someone else has it.
func (s *Server) RequestName() error {
	reply, err := s.cfg.Conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("requesting %s: name already taken (reply %d)", BusName, reply)
	}
	return nil
}

func (s *Server) lookup(path dbus.ObjectPath) (timers.Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objects[path]
	return o.key, ok
}

// publish records what snap's object shows from now on.
func (s *Server) publish(snap timers.Snapshot) (dbus.ObjectPath, map[string]map[string]dbus.Variant) {
	path := TimerPath(snap.Key)
	ifaces := map[string]map[string]dbus.Variant{introspection.Timer: timerProps(snap)}
	s.mu.Lock()
	s.objects[path] = object{key: snap.Key, instance: snap.Instance, ifaces: ifaces}
	s.mu.Unlock()
	return path, ifaces
}

// checkArgs refuses a call whose arguments do not have the signature the
// interface promises. godbus would convert them instead: an int32 to a
// one-character string, a string to an object path.
func (s *Server) checkArgs(msg dbus.Message) *dbus.Error {
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	got, _ := msg.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	if want := s.signatures[member]; got.String() != want {
		return newError(errInvalidArgs, fmt.Sprintf("%s takes arguments (%s), not (%s)", member, want, got.String()))
	}
	return nil
}

func noObject(path dbus.ObjectPath) *dbus.Error {
	return newError(errUnknownObject, fmt.Sprintf("no timer at %s", path))
}

func msgPath(msg dbus.Message) dbus.ObjectPath {
	p, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	return p
}

// Wait refuses new state-changing calls and returns once those in flight
// are over; they end soon after the server's context does.
func (s *Server) Wait() {
	s.callsMu.Lock()
	s.stopping = true
	s.callsMu.Unlock()
	s.calls.Wait()
}

// begin counts a call in; false once the server is stopping.
func (s *Server) begin() bool {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.stopping {
		return false
	}
	s.calls.Add(1)
	return true
}

// mutate runs one state-changing call on a validated timer key: authorize,
// act, log, map errors.
func (s *Server) mutate(msg dbus.Message, method string, key timers.Key, fn func(ctx context.Context) error) *dbus.Error {
	if !s.begin() {
		return newError(errFailed, "the service is stopping")
	}
	defer s.calls.Done()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	sender, interactive := caller(msg)
	log := s.cfg.Log.With(zap.String("method", method), zap.String("sender", sender),
		zap.String("timer", key.Name), zap.String("unit", key.Unit()))
	uid, err := s.cfg.Authorizer.Authorize(ctx, sender, Action{Method: method, Timer: key, Interactive: interactive})
	log = log.With(zap.Uint32("caller_uid", uid))
	if err != nil {
		log.Warn("call refused", zap.Error(err))
		return toDBusError(err)
	}
	if uid != 0 {
		log.Info("call authorized by polkit")
	}
	start := time.Now()
	if err := fn(ctx); err != nil {
		log.Warn("call failed", zap.Duration("took", time.Since(start)), zap.Error(err))
		return toDBusError(err)
	}
	log.Debug("call done", zap.Duration("took", time.Since(start)))
	return nil
}

// --- Observer: domain changes become signals. ---

// TimerAdded announces a new object.
func (s *Server) TimerAdded(snap timers.Snapshot) {
	path, ifaces := s.publish(snap)
	s.emit(RootPath, objectManagerIface+".InterfacesAdded", path, ifaces)
}

// TimerChanged emits one PropertiesChanged with every property that changed.
func (s *Server) TimerChanged(old, new timers.Snapshot) {
	oldProps := timerProps(old)
	path, ifaces := s.publish(new)
	newProps := ifaces[introspection.Timer]
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
	mine := s.objects[path].instance == snap.Instance
	if mine {
		delete(s.objects, path)
	}
	s.mu.Unlock()
	if !mine {
		return
	}
	s.emit(RootPath, objectManagerIface+".InterfacesRemoved", path, []string{introspection.Timer})
}

func (s *Server) emit(path dbus.ObjectPath, name string, values ...any) {
	if err := s.cfg.Conn.Emit(path, name, values...); err != nil {
		s.cfg.Log.Error("emitting signal", zap.String("signal", name), zap.String("path", string(path)), zap.Error(err))
	}
}

func timerProps(s timers.Snapshot) map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"Type":             dbus.MakeVariant(string(s.Type)),
		"Name":             dbus.MakeVariant(s.Name),
		"Unit":             dbus.MakeVariant(s.Unit()),
		"CalendarSpec":     dbus.MakeVariant(s.Spec),
		"Normalized":       dbus.MakeVariant(s.Normalized),
		"Status":           dbus.MakeVariant(string(s.Status)),
		"Enabled":          dbus.MakeVariant(s.Enabled),
		"Running":          dbus.MakeVariant(s.Running),
		"NextElapse":       dbus.MakeVariant(s.NextElapse),
		"LastTrigger":      dbus.MakeVariant(s.LastTrigger),
		"Occurs":           dbus.MakeVariant(s.Occurs),
		"NeedDaemonReload": dbus.MakeVariant(s.NeedDaemonReload),

		"LastRunResult":     dbus.MakeVariant(s.LastRunResult),
		"LastRunExitStatus": dbus.MakeVariant(s.LastRunExitStatus),
		"LastRunStart":      dbus.MakeVariant(s.LastRunStart),
		"LastRunEnd":        dbus.MakeVariant(s.LastRunEnd),
		"LastRunInvocation": dbus.MakeVariant(s.LastRunInvocation),
		"Activity":          dbus.MakeVariant(string(s.Activity)),
	}
}

func (s *Server) managerProps() map[string]dbus.Variant {
	return map[string]dbus.Variant{"Version": dbus.MakeVariant(s.cfg.Version)}
}

// --- com.redhat.Snapm.Timers.Manager ---

type managerMethods struct{ s *Server }

func (m managerMethods) CreateTimer(msg dbus.Message, typ, name, spec string) (dbus.ObjectPath, *dbus.Error) {
	s := m.s
	if derr := s.checkArgs(msg); derr != nil {
		return "", derr
	}
	// Validate before authorizing, so that a refusal never depends on
	// (or reveals) anything but the caller.
	key, err := s.domain.CheckNew(typ, name, spec)
	if err != nil {
		return "", toDBusError(err)
	}
	var snap timers.Snapshot
	derr := s.mutate(msg, "CreateTimer", key, func(ctx context.Context) (err error) {
		snap, err = s.domain.Create(ctx, typ, name, spec)
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
	normalized, next, err := m.s.domain.ParseCalendar(spec, iterations)
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
	normalized, next, err := m.s.domain.ParseCalendarAt(spec, base, iterations)
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
	if _, _, err := t.s.domain.ParseCalendar(spec, 0); err != nil {
		return toDBusError(err)
	}
	return t.do(msg, "SetCalendarSpec", func(ctx context.Context, key timers.Key) (timers.Snapshot, error) {
		return t.s.domain.SetCalendarSpec(ctx, key, spec)
	})
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
	p.s.mu.RUnlock()
	if !ok {
		return nil, noObject(path)
	}
	if iface != introspection.Timer && iface != "" {
		return nil, newError("org.freedesktop.DBus.Error.UnknownInterface", fmt.Sprintf("%s has no interface %s", path, iface))
	}
	return o.ifaces[introspection.Timer], nil
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

func (o objectManager) GetManagedObjects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
	o.s.mu.RLock()
	defer o.s.mu.RUnlock()
	out := make(map[dbus.ObjectPath]map[string]map[string]dbus.Variant, len(o.s.objects))
	for path, obj := range o.s.objects {
		out[path] = obj.ifaces
	}
	return out, nil
}

// --- org.freedesktop.DBus.Introspectable ---

type introspectable struct{ s *Server }

func (i introspectable) Introspect(msg dbus.Message) (string, *dbus.Error) {
	path := msgPath(msg)
	switch {
	case path == RootPath:
		return i.s.intro.root(), nil
	case strings.HasPrefix(string(path), string(RootPath)+"/"):
		if typ, err := timers.ParseType(string(path[len(RootPath)+1:])); err == nil {
			return i.s.intro.typeNode(i.s.childLabels(typ)), nil
		}
	}
	if _, ok := i.s.lookup(path); ok {
		return i.s.intro.timer(), nil
	}
	return "", noObject(path)
}

// childLabels lists the object path labels of the timers of type typ.
func (s *Server) childLabels(typ timers.Type) []string {
	var labels []string
	for _, snap := range s.domain.List() {
		if snap.Type == typ {
			labels = append(labels, timers.EscapeLabel(snap.Name))
		}
	}
	return labels
}
