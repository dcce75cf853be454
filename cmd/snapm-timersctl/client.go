package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/godbus/dbus/v5"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
)

// The service's names, as its interface files define them. The CLI is a
// client of this service alone: it never talks to systemd or the files.
const (
	busName       = "com.redhat.Snapm.Timers"
	rootPath      = dbus.ObjectPath("/com/redhat/Snapm/Timers")
	managerIface  = introspection.Manager
	timerIface    = introspection.Timer
	objectManager = "org.freedesktop.DBus.ObjectManager"
	propsIface    = "org.freedesktop.DBus.Properties"
)

// client is one connection to the service.
type client struct {
	conn *dbus.Conn
	// flags go on every call that changes something: interactive
	// authorization unless --no-ask-password.
	flags dbus.Flags
	// agent starts a polkit text agent around a call that may need one.
	agent func() (stop func())
}

// Timer is one timer object as the service publishes it.
type Timer struct {
	Path  dbus.ObjectPath
	Props map[string]dbus.Variant
}

func (t Timer) str(name string) string {
	s, _ := t.Props[name].Value().(string)
	return s
}

func (t Timer) usec(name string) uint64 {
	v, _ := t.Props[name].Value().(uint64)
	return v
}

func (t Timer) flag(name string) bool {
	b, _ := t.Props[name].Value().(bool)
	return b
}

func (t Timer) has(name string) bool {
	_, ok := t.Props[name]
	return ok
}

// ID is how the CLI names a timer: TYPE/NAME.
func (t Timer) ID() string { return t.str("Type") + "/" + t.str("Name") }

// timers reads every timer in one call.
func (c *client) timers(ctx context.Context) ([]Timer, error) {
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	err := c.conn.Object(busName, rootPath).CallWithContext(ctx, objectManager+".GetManagedObjects", 0).Store(&objs)
	if err != nil {
		return nil, err
	}
	out := make([]Timer, 0, len(objs))
	for path, ifaces := range objs {
		if props, ok := ifaces[timerIface]; ok {
			out = append(out, Timer{Path: path, Props: props})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, nil
}

// errAmbiguous is a bare NAME that both types have.
var errAmbiguous = errors.New("ambiguous")

// resolve finds the object of a timer named TYPE/NAME, or NAME alone when
// only one type has it.
func (c *client) resolve(ctx context.Context, id string) (dbus.ObjectPath, string, error) {
	types := []string{"create", "gc"}
	name := id
	if typ, rest, ok := strings.Cut(id, "/"); ok {
		types, name = []string{typ}, rest
	}
	var found []dbus.ObjectPath
	var ids []string
	var lastErr error
	for _, typ := range types {
		var path dbus.ObjectPath
		err := c.conn.Object(busName, rootPath).CallWithContext(ctx, managerIface+".GetTimer", 0, typ, name).Store(&path)
		if err != nil {
			lastErr = err
			continue
		}
		found = append(found, path)
		ids = append(ids, typ+"/"+name)
	}
	switch len(found) {
	case 0:
		if len(types) > 1 && exitCode(lastErr) == exitNoSuchTimer {
			return "", id, dbus.NewError("com.redhat.Snapm.Timers.Error.NoSuchTimer",
				[]any{fmt.Sprintf("no such timer: neither create/%s nor gc/%s exists", name, name)})
		}
		return "", id, lastErr
	case 1:
		return found[0], ids[0], nil
	}
	return "", id, fmt.Errorf("%w: both %s exist; name one, or act on both with 'snapm-timersctl schedule VERB %s'", errAmbiguous, strings.Join(ids, " and "), name)
}

// timer reads one timer's properties.
func (c *client) timer(ctx context.Context, path dbus.ObjectPath) (Timer, error) {
	var props map[string]dbus.Variant
	err := c.conn.Object(busName, path).CallWithContext(ctx, propsIface+".GetAll", 0, timerIface).Store(&props)
	return Timer{Path: path, Props: props}, err
}

// call runs a method that may change something: with interactive
// authorization allowed (and an agent to answer it) unless the user said
// --no-ask-password.
func (c *client) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	if c.agent != nil {
		defer c.agent()()
	}
	return c.conn.Object(busName, path).CallWithContext(ctx, method, c.flags, args...)
}

// parseCalendar asks the service for an expression's normalized form and
// next elapses after base.
func (c *client) parseCalendar(ctx context.Context, spec string, base uint64, n uint32) (string, []uint64, error) {
	var normalized string
	var next []uint64
	err := c.conn.Object(busName, rootPath).CallWithContext(ctx, managerIface+".ParseCalendarAt", 0, spec, base, n).Store(&normalized, &next)
	return normalized, next, err
}

// knownProps is the order `show` and `status --json` print properties in:
// the interface's, from the XML the daemon serves; whatever a later
// release adds (the API only grows) follows, sorted.
var knownProps = func() []string {
	iface, err := introspection.Interface(introspection.Timer)
	if err != nil {
		panic(err) // the XML the daemon serves, embedded: every test here loads it
	}
	names := make([]string, len(iface.Properties))
	for i, p := range iface.Properties {
		names[i] = p.Name
	}
	return names
}()

func (t Timer) propNames() []string {
	var out, extra []string
	for _, k := range knownProps {
		if t.has(k) {
			out = append(out, k)
		}
	}
	for k := range t.Props {
		if !slices.Contains(knownProps, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}
