package systemd

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"
)

func signal(path dbus.ObjectPath, iface, member string, body ...any) *dbus.Message {
	msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface),
		dbus.FieldMember:    dbus.MakeVariant(member),
		dbus.FieldSender:    dbus.MakeVariant(":1.1"),
	}, Body: body}
	if len(body) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	return msg
}

func unitPropsChanged(unit string) *dbus.Message {
	return signal(UnitPath(unit), propsIface, "PropertiesChanged", "org.freedesktop.systemd1.Unit",
		map[string]dbus.Variant{"ActiveState": dbus.MakeVariant("active")}, []string{})
}

func jobRemoved(unit string) *dbus.Message {
	return signal(managerPath, managerIface, "JobRemoved", uint32(7), dbus.ObjectPath("/org/freedesktop/systemd1/job/7"), unit, "done")
}

// What reaches godbus through the filter is every message but systemd's
// signals about units not ours, in order, whatever the byte order and
// however the stream is cut.
func TestBusFilterDropsOnlyOtherUnits(t *testing.T) {
	t.Parallel()
	reply := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(3)),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf("x")),
	}, Body: []any{"x"}}
	kept := []*dbus.Message{
		unitPropsChanged("snapm-create@hourly.timer"),
		unitPropsChanged("snapm-gc@x_y-z.service"),
		jobRemoved("snapm-create@hourly.timer"),
		jobRemoved("snapm-gc@hourly.service"),
		signal(managerPath, managerIface, "UnitFilesChanged"),
		signal(managerPath, managerIface, "Reloading", true),
		// Not a unit of ours, but not a signal the filter knows either.
		signal(UnitPath("dbus.service"), "org.example.Other", "PropertiesChanged", "x"),
		reply,
	}
	dropped := []*dbus.Message{
		unitPropsChanged("run-u42.service"),
		unitPropsChanged("snapm-create@.timer"), // no name: not a timer
		unitPropsChanged("snapm-other@x.timer"),
		signal("/org/freedesktop/systemd1/unit/a/b", propsIface, "PropertiesChanged", "x"),
		jobRemoved("run-u42.service"),
		jobRemoved("snapm-create@x.timer.bak"),
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var stream bytes.Buffer
		var want []string
		for i := range max(len(kept), len(dropped)) {
			if i < len(dropped) {
				if err := dropped[i].EncodeTo(&stream, order); err != nil {
					t.Fatal(err)
				}
			}
			if i < len(kept) {
				if err := kept[i].EncodeTo(&stream, order); err != nil {
					t.Fatal(err)
				}
				want = append(want, kept[i].String())
			}
		}
		client, server := net.Pipe()
		go func() {
			// Written in small pieces, as a socket may deliver them.
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
		f := newBusFilter(client)
		f.began.Store(true) // the authentication is over
		var got []string
		for {
			msg, err := dbus.DecodeMessage(f)
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
		if n := f.dropped.Load(); n != uint64(len(dropped)) {
			t.Errorf("%v: dropped %d, want %d", order, n, len(dropped))
		}
	}
}
