package systemd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

const (
	dbusName  = "org.freedesktop.DBus"
	dbusIface = "org.freedesktop.DBus"
)

// owner follows the unique name that owns org.freedesktop.systemd1: only
// that peer's signals are systemd's. Anyone on the system bus can send us a
// signal (a unicast one reaches us whatever our match rules say), and the
// bus stamps every message with its real sender, so the sender is what
// tells systemd from a forger.
//
// It learns the name by asking the bus once and then from the bus's own
// NameOwnerChanged, which it sees on the connection's reader, in the order
// messages arrive: every message is judged by the owner as of its arrival.
type owner struct {
	name atomic.Pointer[string]
	mu   sync.Mutex
	// gen counts the owner changes seen, so that an answer to
	// GetNameOwner is never taken over a change that came after it.
	gen uint64
	// changed wakes the resubscription: systemd came (back) on the bus.
	// One slot: changes that pile up before it runs need one resubscription.
	changed chan struct{}
}

func newOwner() *owner {
	o := &owner{changed: make(chan struct{}, 1)}
	o.name.Store(new(string))
	return o
}

// is reports whether sender is systemd, as of the last message read.
func (o *owner) is(sender string) bool {
	name := o.name.Load()
	return *name != "" && sender == *name
}

// follow takes the bus's NameOwnerChanged for systemd1; the connection's
// reader calls it for every incoming message, in order.
func (o *owner) follow(msg *dbus.Message) {
	if msg.Type != dbus.TypeSignal || len(msg.Body) != 3 {
		return
	}
	// Only the bus itself can send as org.freedesktop.DBus.
	if sender, _ := msg.Headers[dbus.FieldSender].Value().(string); sender != dbusName {
		return
	}
	iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	name, _ := msg.Body[0].(string)
	newOwner, ok := msg.Body[2].(string)
	if iface != dbusIface || member != "NameOwnerChanged" || name != busName || !ok {
		return
	}
	o.mu.Lock()
	o.gen++
	o.name.Store(&newOwner)
	o.mu.Unlock()
	if newOwner != "" {
		select {
		case o.changed <- struct{}{}:
		default:
		}
	}
}

// learn asks the bus who owns systemd1. NameOwnerChanged must already be
// matched, so that no change can fall between the answer and the signals.
func (o *owner) learn(ctx context.Context, conn *dbus.Conn) error {
	for {
		o.mu.Lock()
		gen := o.gen
		o.mu.Unlock()
		var name string
		err := conn.BusObject().CallWithContext(ctx, dbusIface+".GetNameOwner", 0, busName).Store(&name)
		var dbusErr dbus.Error
		if errors.As(err, &dbusErr) && dbusErr.Name == dbusName+".Error.NameHasNoOwner" {
			err = nil // not on the bus (yet): its NameOwnerChanged will say when it is
		}
		if err != nil {
			return fmt.Errorf("asking the bus for systemd's name: %w", err)
		}
		o.mu.Lock()
		// A change seen meanwhile may be newer than the answer, or older:
		// ask again.
		current := o.gen == gen
		if current {
			o.name.Store(&name)
		}
		o.mu.Unlock()
		if current {
			return nil
		}
	}
}
