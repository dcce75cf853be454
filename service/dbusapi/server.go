// Package dbusapi is the D-Bus surface of snapm-timersd: thin adapters that
// decode a call, authorize it, hand it to the timer domain and map the
// outcome, plus the signals that mirror the domain's changes.
package dbusapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/logging"
	"github.com/snapm/snapm-timersd/service/schedule"
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
	CheckNew(typ, name, spec string, flags uint64) (timers.Key, error)
	CreateWithFlags(ctx context.Context, typ, name, spec string, flags uint64) (timers.Snapshot, error)
	Remove(ctx context.Context, key timers.Key) error
	Enable(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Start(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Stop(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	Disable(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	SetCalendarSpec(ctx context.Context, key timers.Key, spec string) (timers.Snapshot, error)
	RunNow(ctx context.Context, key timers.Key) (timers.Snapshot, error)
	// caller tells callers apart, for the previews' fairness.
	ParseCalendar(caller, spec string, iterations uint32) (normalized string, next []uint64, err error)
	ParseCalendarAt(caller, spec string, base uint64, iterations uint32) (normalized string, next []uint64, err error)

	CheckSchedule(name string, sources []string, spec string, opts schedule.Options) (schedule.Schedule, error)
	CreateSchedule(ctx context.Context, s schedule.Schedule) error
	DeleteSchedule(ctx context.Context, name string) error
	EnableSchedule(ctx context.Context, name string, start bool) error
	StartSchedule(ctx context.Context, name string) error
	StopSchedule(ctx context.Context, name string) error
	DisableSchedule(ctx context.Context, name string) error
	CheckEdit(name string, changes schedule.Options) (schedule.Schedule, error)
	EditSchedule(ctx context.Context, name string, changes schedule.Options) error
}

// Authorizer decides whether sender may do act; it returns the caller's uid
// for the log.
type Authorizer interface {
	Authorize(ctx context.Context, sender string, act Action) (uid uint32, err error)
	// UID is the uid behind sender.
	UID(ctx context.Context, sender string) (uint32, error)
}

// Config wires a Server.
type Config struct {
	Conn       *dbus.Conn
	Authorizer Authorizer
	Log        *zap.Logger
	Version    string
	// CallTimeout bounds one method call, systemd jobs included.
	CallTimeout time.Duration
	// Raw, if set, is Conn's stream: GetManagedObjects is answered
	// through it from a shared encoded reply (see managed.go), and by
	// godbus otherwise.
	Raw RawConn
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

	mu        sync.RWMutex
	objects   map[dbus.ObjectPath]object
	schedules map[dbus.ObjectPath]scheduleObject
	// schedMu orders each schedule's signals (see showSchedule); it is
	// taken before mu, never after.
	schedMu sync.Mutex
	// managed is GetManagedObjects' reply, kept encoded; the calls taken
	// from the connection wait in managedCalls (guarded by managedMu)
	// for answerManaged, which managedWake wakes and answering joins.
	managed      managedCache
	managedMu    sync.Mutex
	managedCalls []managedCall
	managedWake  chan struct{}
	// managedCallers knows who is root among the callers answered.
	managedCallers callers
	answering      sync.WaitGroup
	// named is set just before the name is requested: signals before it
	// would reach nobody (a client follows the name, and asks for every
	// object once it appears), and at start-up over 10,000 timers their
	// InterfacesAdded cost a quarter of the time to the name.
	named atomic.Bool

	// calls counts the state-changing calls in flight; once stopping is
	// set no new one begins, so Wait can tell when the last one is over.
	callsMu  sync.Mutex
	stopping bool
	calls    sync.WaitGroup

	// refusals keeps each caller's refused calls to a few lines a
	// minute: anyone may make them as fast as the bus carries them.
	refusals *logging.Limiter
}

const (
	refusalBurst  = 10
	refusalWindow = time.Minute
)

// object is an exported timer as last published. Its properties are
// built from the snapshot when a reply shows them: kept built, as maps of
// variants that each box their value, they cost 2.4 KiB a timer, ten times
// the snapshot, and encoding them dwarfs building them.
type object struct {
	snap timers.Snapshot
}

// NewServer prepares the surface; nothing is exported until Export.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	intro, err := newIntrospector()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, ctx: ctx, intro: intro, signatures: intro.signatures(), objects: map[dbus.ObjectPath]object{},
		refusals: logging.NewLimiter(refusalBurst, refusalWindow), schedules: map[dbus.ObjectPath]scheduleObject{},
		managedWake: make(chan struct{}, 1)}, nil
}

// TimerPath is the object path of a timer.
func TimerPath(key timers.Key) dbus.ObjectPath {
	return RootPath + dbus.ObjectPath("/"+string(key.Type)+"/"+buslabel.Escape(key.Name))
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
		{scheduleMethods{s}, introspection.Schedule, true},
		{properties{s}, propertiesIface, true},
		{introspectable{s}, introspectIface, true},
	}
	if s.cfg.Raw != nil {
		s.managedCallers.ask = func(ctx context.Context, sender string) (uint32, error) { return CallerUID(ctx, c, sender) }
		s.answering.Go(s.answerManaged)
		s.cfg.Raw.AddFilter(s.takeManaged)
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
	// Before the request, so that no change published once a client can
	// see the name goes unsignalled.
	s.named.Store(true)
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
	return o.snap.Key, ok
}

// checkArgs refuses a call whose arguments do not have the signature the
// interface promises. godbus would convert them instead: an int32 to a
// one-character string, a string to an object path.
func (s *Server) checkArgs(msg dbus.Message) *dbus.Error {
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
	got, _ := msg.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	want, ok := s.signatures[iface+"."+member]
	if iface == "" {
		// No interface named: the bus delivers it to any method of that
		// name, so the call must fit one of them.
		for name, sig := range s.signatures {
			if strings.HasSuffix(name, "."+member) && (!ok || sig == got.String()) {
				want, ok = sig, true
			}
		}
	}
	if got.String() != want {
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
	s.answering.Wait()
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
	return s.act(msg, Action{Method: method, Timer: key}, fn)
}

// act runs one state-changing call, act (validated) saying on what:
// authorize, act, log, map errors.
func (s *Server) act(msg dbus.Message, act Action, fn func(ctx context.Context) error) *dbus.Error {
	if !s.begin() {
		return newError(errFailed, "the service is stopping")
	}
	defer s.calls.Done()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	sender, interactive := caller(msg)
	act.Interactive = interactive
	log := s.cfg.Log.With(zap.String("method", act.Method), zap.String("sender", sender))
	if act.Timer.Name == "" {
		log = log.With(zap.String("schedule", act.Schedule))
	} else {
		log = log.With(zap.String("timer", act.Timer.Name), zap.String("unit", act.Timer.Unit()))
	}
	uid, err := s.cfg.Authorizer.Authorize(ctx, sender, act)
	log = log.With(zap.Uint32("caller_uid", uid))
	if err != nil {
		if ok, held := s.refusals.Allow(strconv.FormatUint(uint64(uid), 10)); ok {
			log.Warn("call refused", zap.Error(err), held)
		}
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
