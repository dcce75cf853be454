// Package rawbus is a bus connection made by hand, for what a client
// library will not do: send bytes it refuses to encode, or take a reply to
// its last byte without decoding it.
package rawbus

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Conn is one authenticated connection, Hello said.
type Conn struct {
	c      net.Conn
	r      *bufio.Reader
	serial uint32
}

// Reply is what came back for a call.
type Reply struct {
	Type      dbus.Type
	ErrorName string // for dbus.TypeError
	Size      int    // bytes, headers included
}

// Dial connects to a unix:path= address as this process's uid.
func Dial(address string) (*Conn, error) {
	c, err := net.Dial("unix", strings.TrimPrefix(address, "unix:path="))
	if err != nil {
		return nil, err
	}
	rc := &Conn{c: c, r: bufio.NewReaderSize(c, 1<<20)}
	if err := rc.hello(); err != nil {
		c.Close()
		return nil, err
	}
	return rc, nil
}

func (rc *Conn) hello() error {
	if _, err := fmt.Fprintf(rc.c, "\x00AUTH EXTERNAL %x\r\n", strconv.Itoa(os.Getuid())); err != nil {
		return err
	}
	if line, err := rc.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "OK ") {
		return fmt.Errorf("bus authentication: %q %v", line, err)
	}
	if _, err := io.WriteString(rc.c, "BEGIN\r\n"); err != nil {
		return err
	}
	if err := rc.Send("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", nil); err != nil {
		return err
	}
	_, err := rc.Await()
	return err
}

// Close ends the connection.
func (rc *Conn) Close() error { return rc.c.Close() }

// SetDeadline bounds every read and write from now on.
func (rc *Conn) SetDeadline(t time.Time) error { return rc.c.SetDeadline(t) }

// Send writes a method call with body, after edit (if not nil) had its way
// with the encoded bytes.
func (rc *Conn) Send(dest string, path dbus.ObjectPath, iface, member string, edit func([]byte), body ...any) error {
	msg := &dbus.Message{Type: dbus.TypeMethodCall, Body: body, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(dest), dbus.FieldPath: dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface), dbus.FieldMember: dbus.MakeVariant(member)}}
	if len(body) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		return err
	}
	b := buf.Bytes()
	rc.serial++
	binary.LittleEndian.PutUint32(b[8:12], rc.serial) // godbus leaves serials to its Conn
	if edit != nil {
		edit(b)
	}
	_, err := rc.c.Write(b)
	return err
}

// Forward writes msg, one whole encoded message, as it is but for its
// serial, which it takes from this connection.
func (rc *Conn) Forward(msg []byte) error {
	if len(msg) < 16 {
		return fmt.Errorf("a message of %d bytes", len(msg))
	}
	order, _ := frame(msg)
	rc.serial++
	order.PutUint32(msg[8:12], rc.serial)
	_, err := rc.c.Write(msg)
	return err
}

// ReadMessage reads one whole encoded message from r.
func ReadMessage(r io.Reader) ([]byte, error) {
	fixed := make([]byte, 16)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return nil, err
	}
	_, rest := frame(fixed)
	msg := make([]byte, 16+rest)
	copy(msg, fixed)
	_, err := io.ReadFull(r, msg[16:])
	return msg, err
}

// frame reads a message's fixed header (endianness, type, flags, version,
// body length, serial, length of the header fields array): its byte order
// and how many bytes follow the fixed header.
func frame(fixed []byte) (binary.ByteOrder, int) {
	var order binary.ByteOrder = binary.LittleEndian
	if fixed[0] == 'B' {
		order = binary.BigEndian
	}
	return order, (int(order.Uint32(fixed[12:16]))+7)/8*8 + int(order.Uint32(fixed[4:8]))
}

// Await reads until a method reply or error has arrived whole, skipping
// signals; with one call in flight, it is that call's.
func (rc *Conn) Await() (Reply, error) {
	for {
		var fixed [16]byte
		if _, err := io.ReadFull(rc.r, fixed[:]); err != nil {
			return Reply{}, err
		}
		_, rest := frame(fixed[:])
		reply := Reply{Type: dbus.Type(fixed[1]), Size: 16 + rest}
		switch reply.Type {
		case dbus.TypeMethodReply:
			_, err := rc.r.Discard(rest)
			return reply, err
		case dbus.TypeError:
			whole := make([]byte, 16+rest)
			copy(whole, fixed[:])
			if _, err := io.ReadFull(rc.r, whole[16:]); err != nil {
				return reply, err
			}
			msg, err := dbus.DecodeMessage(bytes.NewReader(whole))
			if err != nil {
				return reply, err
			}
			reply.ErrorName, _ = msg.Headers[dbus.FieldErrorName].Value().(string)
			return reply, nil
		}
		if _, err := rc.r.Discard(rest); err != nil {
			return reply, err
		}
	}
}
