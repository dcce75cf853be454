package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// rawClient is a bus connection made by hand, so that a reply can be timed
// to its last byte without a client library decoding it: what a reply
// costs the daemon and the bus, apart from what it costs a client.
type rawClient struct {
	c      net.Conn
	r      *bufio.Reader
	serial uint32
}

func dialRaw(address string) (*rawClient, error) {
	c, err := net.Dial("unix", strings.TrimPrefix(address, "unix:path="))
	if err != nil {
		return nil, err
	}
	rc := &rawClient{c: c, r: bufio.NewReaderSize(c, 1<<20)}
	if _, err := fmt.Fprintf(c, "\x00AUTH EXTERNAL %x\r\n", "0"); err != nil {
		c.Close()
		return nil, err
	}
	if line, err := rc.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "OK ") {
		c.Close()
		return nil, fmt.Errorf("bus authentication: %q %v", line, err)
	}
	if _, err := io.WriteString(c, "BEGIN\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := rc.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"); err != nil {
		c.Close()
		return nil, err
	}
	return rc, nil
}

func (rc *rawClient) Close() error { return rc.c.Close() }

// call sends a method call without arguments and reads until its reply
// has arrived whole; it returns the reply's size.
func (rc *rawClient) call(dest string, path dbus.ObjectPath, iface, member string) (int, error) {
	rc.serial++
	msg := &dbus.Message{Type: dbus.TypeMethodCall, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(dest), dbus.FieldPath: dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface), dbus.FieldMember: dbus.MakeVariant(member)}}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		return 0, err
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[8:12], rc.serial) // godbus leaves serials to its Conn
	if _, err := rc.c.Write(b); err != nil {
		return 0, err
	}
	for {
		// The fixed header: endianness, type, flags, version, body
		// length, serial, length of the header fields array.
		var fixed [16]byte
		if _, err := io.ReadFull(rc.r, fixed[:]); err != nil {
			return 0, err
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if fixed[0] == 'B' {
			order = binary.BigEndian
		}
		bodyLen := int(order.Uint32(fixed[4:8]))
		fieldsLen := int(order.Uint32(fixed[12:16]))
		rest := (fieldsLen+7)/8*8 + bodyLen
		if _, err := rc.r.Discard(rest); err != nil {
			return 0, err
		}
		switch fixed[1] {
		case byte(dbus.TypeMethodReply):
			return 16 + rest, nil // our only call in flight
		case byte(dbus.TypeError):
			return 0, fmt.Errorf("%s.%s failed", iface, member)
		}
	}
}

// timeRaw times n calls of member on the daemon's root object.
func timeRaw(address string, iface, member string, n int) ([]time.Duration, int, error) {
	rc, err := dialRaw(address)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	var d []time.Duration
	size := 0
	for i := 0; i < n; i++ {
		start := time.Now()
		if size, err = rc.call(busName, rootPath, iface, member); err != nil {
			return nil, 0, err
		}
		d = append(d, time.Since(start))
	}
	return d, size, nil
}
