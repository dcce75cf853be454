package dbusapi

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// ManageAction is the polkit action that guards every change.
const ManageAction = "com.redhat.snapm.timers.manage"

const (
	polkitName  = "org.freedesktop.PolicyKit1"
	polkitPath  = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
	polkitCheck = "org.freedesktop.PolicyKit1.Authority.CheckAuthorization"
	// polkitAllowUserInteraction is CheckAuthorizationFlags' only flag.
	polkitAllowUserInteraction = uint32(1)
)

// Action is what a caller asks to do, for the authorizer to judge: to a
// timer (Timer), or to a whole schedule (Schedule, Timer zero).
type Action struct {
	Method   string
	Timer    timers.Key
	Schedule string
	// Interactive is the caller's ALLOW_INTERACTIVE_AUTHORIZATION flag:
	// whether it is prepared to wait while polkit asks a human.
	Interactive bool
}

// String names what the action acts on, for messages.
func (a Action) String() string {
	if a.Timer.Name == "" {
		return "schedule " + a.Schedule
	}
	return a.Timer.String()
}

// details are polkit's details of the action: a rule targets one schedule
// with action.lookup("schedule"), one timer with action.lookup("unit").
func (a Action) details() map[string]string {
	if a.Timer.Name == "" {
		return map[string]string{"method": a.Method, "schedule": a.Schedule}
	}
	return map[string]string{
		"method":   a.Method,
		"type":     string(a.Timer.Type),
		"name":     a.Timer.Name,
		"unit":     a.Timer.Unit(),
		"schedule": a.Timer.Name,
	}
}

// Polkit allows root callers and asks polkit about everyone else, as
// timedated does. It fails closed: polkit missing, failing or slow means no.
type Polkit struct {
	conn *dbus.Conn
	uids callers
	pace pacer
}

// NewPolkit returns the authorizer for the daemon on conn.
func NewPolkit(conn *dbus.Conn) *Polkit {
	return &Polkit{conn: conn, uids: callers{ask: func(ctx context.Context, sender string) (uint32, error) {
		return CallerUID(ctx, conn, sender)
	}}}
}

// Authorize returns the caller's uid, and ErrAccessDenied (or
// ErrInteractiveAuthorizationRequired) unless the caller may do act.
func (p *Polkit) Authorize(ctx context.Context, sender string, act Action) (uint32, error) {
	uid, err := p.uids.uid(ctx, sender)
	if err != nil || uid == 0 {
		return uid, err
	}
	if err := p.pace.wait(ctx, uid); err != nil {
		return uid, fmt.Errorf("%w: %s on %s: uid %d asked polkit too often: %w", errDenied, act.Method, act.Timer, uid, err)
	}
	// The subject is the bus name, never a pid: polkit resolves it through
	// the bus, so a caller cannot exit and let another process take its pid.
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{"system-bus-name", map[string]dbus.Variant{"name": dbus.MakeVariant(sender)}}
	details := act.details()
	flags := uint32(0)
	if act.Interactive {
		flags = polkitAllowUserInteraction
	}
	var result struct {
		Authorized, Challenge bool
		Details               map[string]string
	}
	err = p.conn.Object(polkitName, polkitPath).CallWithContext(ctx, polkitCheck, 0,
		subject, ManageAction, details, flags, "").Store(&result)
	switch {
	case err != nil:
		return uid, fmt.Errorf("%w: %s on %s: polkit could not decide for uid %d: %w",
			errDenied, act.Method, act, uid, err)
	case result.Authorized:
		return uid, nil
	case result.Challenge && !act.Interactive:
		return uid, fmt.Errorf("%w: %s on %s needs authentication (uid %d); call with interactive authorization allowed",
			errInteractiveAuth, act.Method, act, uid)
	}
	return uid, fmt.Errorf("%w: %s on %s: polkit refused uid %d", errDenied, act.Method, act, uid)
}

// UID is the uid behind sender, as the bus knows it.
func (p *Polkit) UID(ctx context.Context, sender string) (uint32, error) {
	return p.uids.uid(ctx, sender)
}

// maxCallers bounds the remembered callers; past it they are forgotten
// all at once, which costs each caller one more question to the bus.
const maxCallers = 1024

// callers remembers the uid behind each unique name that called. The bus
// never gives a unique name to a second connection and knows the uid from
// the socket, so an answer stays true as long as anyone can call with that
// name; asking for every call cost a round trip through dbus-daemon on
// every change (a quarter of a millisecond, three times to create, enable
// and start a timer).
type callers struct {
	ask func(ctx context.Context, sender string) (uint32, error)

	mu   sync.Mutex
	uids map[string]uint32
}

func (c *callers) uid(ctx context.Context, sender string) (uint32, error) {
	c.mu.Lock()
	uid, ok := c.uids[sender]
	c.mu.Unlock()
	if ok {
		return uid, nil
	}
	uid, err := c.ask(ctx, sender)
	if err != nil {
		return uid, err
	}
	c.mu.Lock()
	if c.uids == nil || len(c.uids) >= maxCallers {
		c.uids = make(map[string]uint32)
	}
	c.uids[sender] = uid
	c.mu.Unlock()
	return uid, nil
}

// CallerUID asks the bus for the uid behind a unique name; the bus knows it
// from the socket's credentials, so a caller cannot lie about it.
func CallerUID(ctx context.Context, conn *dbus.Conn, sender string) (uint32, error) {
	var uid uint32
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, sender).Store(&uid)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot identify caller %s: %w", errDenied, sender, err)
	}
	return uid, nil
}

// previewer is the key that tells the callers of previews apart: their
// uid, so that one user's many connections share one turn; the unique
// name when the uid cannot be known.
func (s *Server) previewer(msg dbus.Message) string {
	sender, _ := caller(msg)
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	if uid, err := s.cfg.Authorizer.UID(ctx, sender); err == nil {
		return "uid " + strconv.FormatUint(uint64(uid), 10)
	}
	return sender
}

// caller reads who sent msg and whether it allows interactive authorization.
func caller(msg dbus.Message) (sender string, interactive bool) {
	sender, _ = msg.Headers[dbus.FieldSender].Value().(string)
	return sender, msg.Flags&dbus.FlagAllowInteractiveAuthorization != 0
}
