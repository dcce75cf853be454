package busconn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"
)

// What reaches godbus through the stream is every message no filter took,
// whole and in order, whatever the byte order and however the socket cuts
// the bytes; filters see each message's header fields and body.
func TestStreamHandsOnWhatFiltersLeave(t *testing.T) {
	t.Parallel()
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var stream bytes.Buffer
		var want []string
		for i := range 12 {
			member := "Keep"
			if i%3 == 0 {
				member = "Take"
			}
			msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
				dbus.FieldPath:      dbus.MakeVariant(dbus.ObjectPath(fmt.Sprintf("/p/%d", i))),
				dbus.FieldInterface: dbus.MakeVariant("org.example.I"),
				dbus.FieldMember:    dbus.MakeVariant(member),
				dbus.FieldSender:    dbus.MakeVariant(":1.7"),
				dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(uint32(0), "")),
			}, Body: []any{uint32(i), "body"}}
			if err := msg.EncodeTo(&stream, order); err != nil {
				t.Fatal(err)
			}
			if member == "Keep" {
				want = append(want, msg.String())
			}
		}
		client, server := net.Pipe()
		go func() {
			b := stream.Bytes()
			for len(b) > 0 {
				n := min(len(b), 7)
				if _, err := server.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
			server.Close()
		}()
		s := newStream(client)
		s.began.Store(true) // the authentication is over
		var seen []string
		s.filters.Store(&[]Filter{func(msg *Message) bool {
			w := Wire{B: msg.Body, Order: msg.Order}
			w.Pos = 4
			seen = append(seen, fmt.Sprintf("%s %s %s.%s %s %q", msg.Sender, msg.Path, msg.Interface, msg.Member, msg.Signature, w.String()))
			return string(msg.Member) == "Take"
		}})
		var got []string
		for {
			msg, err := dbus.DecodeMessage(s)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%v: decoding after %d messages: %v", order, len(got), err)
			}
			got = append(got, msg.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: godbus got\n%q\nwant\n%q", order, got, want)
		}
		if n := s.taken.Load(); n != 4 {
			t.Errorf("%v: taken %d, want 4", order, n)
		}
		if len(seen) != 12 || seen[1] != `:1.7 /p/1 org.example.I.Keep us "body"` {
			t.Errorf("%v: filters saw %q", order, seen)
		}
	}
}
