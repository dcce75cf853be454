// Package busconn is the daemon's bus connection: godbus's, with its byte
// stream in the daemon's hands. Filters see each incoming message's header
// before godbus decodes it and may take the message away, and a message
// the daemon has encoded itself can be sent whole, between godbus's own.
//
// Both exist for cost. Every unit that starts or stops on the host makes
// systemd signal, and godbus decodes a message in full before anyone can
// look at it; and godbus encodes a reply twice (once to count its file
// descriptors), which for GetManagedObjects over thousands of timers is
// most of the daemon's CPU.
package busconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// Message is what a filter sees of an incoming message: its fixed header,
// its header fields, and as much of its body as was at hand (at least
// BodyPeek bytes, if the body has them). The slices are only valid during
// the filter's call.
type Message struct {
	Type   dbus.Type
	Flags  dbus.Flags
	Serial uint32
	Order  binary.ByteOrder
	// The header fields, empty when absent.
	Path, Interface, Member, Sender, Signature []byte
	Body                                       []byte
}

// BodyPeek is how much of a body filters are shown.
const BodyPeek = 256

// A Filter returns true to take msg away from godbus. Filters run on the
// connection's reader, one message at a time and in order: they must not
// wait.
type Filter func(msg *Message) (taken bool)

// Conn is a bus connection whose stream the daemon reads and writes.
type Conn struct {
	*dbus.Conn
	s *stream
}

// ErrNotOwnStream: the bus is not on a unix socket, and godbus reads and
// writes the connection on its own.
var ErrNotOwnStream = errors.New("the bus connection is godbus's own")

// defaultSystemBus is the system bus's address when
// DBUS_SYSTEM_BUS_ADDRESS is not set, as the D-Bus specification says.
const defaultSystemBus = "unix:path=/var/run/dbus/system_bus_socket"

// Connect connects to the bus at address ("" for the system bus), ready
// to use, as dbus.Connect does; opts are dbus.Connect's. A bus on any
// other kind of address than a unix socket (tcp, say) is connected to by
// godbus: filters are never called and Send fails.
func Connect(address string, opts ...dbus.ConnOption) (*Conn, error) {
	if address == "" {
		address = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if address == "" {
		address = defaultSystemBus
	}
	sock, err := dialUnix(address)
	if err != nil {
		return nil, err
	}
	if sock == nil {
		conn, err := dbus.Connect(address, opts...)
		return &Conn{Conn: conn}, err
	}
	s := newStream(sock)
	conn, err := Handshake(s, opts...)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: conn, s: s}, nil
}

// Handshake makes a bus connection of an open transport: it
// authenticates and says Hello, and closes rw if either fails.
func Handshake(rw io.ReadWriteCloser, opts ...dbus.ConnOption) (*dbus.Conn, error) {
	conn, err := dbus.NewConn(rw, opts...)
	if err != nil {
		rw.Close()
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// AddFilter runs f on every incoming message from now on, after the
// filters added before it.
func (c *Conn) AddFilter(f Filter) {
	if c.s == nil {
		return
	}
	for {
		old := c.s.filters.Load()
		var fs []Filter
		if old != nil {
			fs = append(fs, *old...)
		}
		fs = append(fs, f)
		if c.s.filters.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// Send writes msg, one whole encoded message, between godbus's messages.
func (c *Conn) Send(msg ...[]byte) error {
	if c.s == nil {
		return ErrNotOwnStream
	}
	return c.s.send(msg)
}

// serials numbers the messages Send's callers encode. godbus numbers its
// own from 1 and would need two billion messages to reach these; a reply's
// serial is only ever a name for it, never matched against anything.
var serials atomic.Uint32

func init() { serials.Store(1 << 31) }

// NextSerial is a serial for a message given to Send.
func NextSerial() uint32 {
	if s := serials.Add(1); s != 0 {
		return s
	}
	return serials.Add(1)
}

// dialUnix connects to the first unix socket address lists that
// answers; nil (and no error) when it lists none.
func dialUnix(address string) (net.Conn, error) {
	var errs []error
	for entry := range strings.SplitSeq(address, ";") {
		transport, params, _ := strings.Cut(entry, ":")
		if transport != "unix" {
			continue
		}
		var sock string
		for kv := range strings.SplitSeq(params, ",") {
			key, value, _ := strings.Cut(kv, "=")
			value, err := url.PathUnescape(value)
			if err != nil {
				return nil, fmt.Errorf("bus address %q: %w", address, err)
			}
			switch key {
			case "path":
				sock = value
			case "abstract":
				sock = "@" + value
			}
		}
		if sock == "" {
			continue
		}
		c, err := net.Dial("unix", sock)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, nil
}
