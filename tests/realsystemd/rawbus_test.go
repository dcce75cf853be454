package realsystemd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// marker ends with the byte rawCreateTimer corrupts.
const marker = "corrupt-me:\x01"

// rawCreateTimer sends CreateTimer("create", name, "daily") over a
// connection made by hand, after replacing the last byte of marker in name
// with corrupt: clients refuse to send such strings at all, so only
// hand-made bytes show what the bus does with them. It returns what came
// back: the reply's error name, or how the connection ended.
func rawCreateTimer(t *testing.T, name string, corrupt byte) string {
	t.Helper()
	sock := strings.TrimPrefix(ns.BusAddress(), "unix:path=")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := fmt.Fprintf(c, "\x00AUTH EXTERNAL %x\r\n", "0"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "OK ") {
		t.Fatalf("bus authentication: %q %v", line, err)
	}
	io.WriteString(c, "BEGIN\r\n")
	send := func(serial uint32, dest string, path dbus.ObjectPath, iface, member string, body ...any) {
		msg := &dbus.Message{Type: dbus.TypeMethodCall, Body: body, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldDestination: dbus.MakeVariant(dest), dbus.FieldPath: dbus.MakeVariant(path),
			dbus.FieldInterface: dbus.MakeVariant(iface), dbus.FieldMember: dbus.MakeVariant(member)}}
		if len(body) > 0 {
			msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
		}
		var buf bytes.Buffer
		if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		binary.LittleEndian.PutUint32(b[8:12], serial) // godbus leaves it to its Conn
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			b[i+len(marker)-1] = corrupt
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	send(1, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")
	if _, err := dbus.DecodeMessage(r); err != nil {
		t.Fatalf("Hello: %v", err)
	}
	send(2, busName, rootPath, managerIf, "CreateTimer", "create", name, "daily")
	for {
		reply, err := dbus.DecodeMessage(r)
		if err != nil {
			return "disconnected by the bus: " + err.Error()
		}
		if serial, _ := reply.Headers[dbus.FieldReplySerial].Value().(uint32); serial != 2 {
			continue // NameAcquired and the like
		}
		if reply.Type == dbus.TypeError {
			name, _ := reply.Headers[dbus.FieldErrorName].Value().(string)
			return name
		}
		return "accepted"
	}
}
