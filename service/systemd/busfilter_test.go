package systemd

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/busconn"
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

// Foreign takes systemd's signals about units not ours, and nothing else,
// whatever the byte order.
func TestForeignTakesOnlyOtherUnits(t *testing.T) {
	t.Parallel()
	reply := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(3)),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf("x")),
	}, Body: []any{"x"}}
	call := &dbus.Message{Type: dbus.TypeMethodCall, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:   dbus.MakeVariant(UnitPath("run-u42.service")),
		dbus.FieldMember: dbus.MakeVariant("PropertiesChanged"),
	}}
	for name, tc := range map[string]struct {
		msg  *dbus.Message
		want bool
	}{
		"a timer's PropertiesChanged":            {unitPropsChanged("snapm-create@hourly.timer"), false},
		"a service's PropertiesChanged":          {unitPropsChanged("snapm-gc@x_y-z.service"), false},
		"a timer's JobRemoved":                   {jobRemoved("snapm-create@hourly.timer"), false},
		"a service's JobRemoved":                 {jobRemoved("snapm-gc@hourly.service"), false},
		"UnitFilesChanged":                       {signal(managerPath, managerIface, "UnitFilesChanged"), false},
		"Reloading":                              {signal(managerPath, managerIface, "Reloading", true), false},
		"another interface's PropertiesChanged":  {signal(UnitPath("dbus.service"), "org.example.Other", "PropertiesChanged", "x"), false},
		"a reply":                                {reply, false},
		"a call":                                 {call, false},
		"another unit's PropertiesChanged":       {unitPropsChanged("run-u42.service"), true},
		"a template's PropertiesChanged":         {unitPropsChanged("snapm-create@.timer"), true},
		"another type's PropertiesChanged":       {unitPropsChanged("snapm-other@x.timer"), true},
		"PropertiesChanged below a unit":         {signal("/org/freedesktop/systemd1/unit/a/b", propsIface, "PropertiesChanged", "x"), true},
		"another unit's JobRemoved":              {jobRemoved("run-u42.service"), true},
		"JobRemoved of a name ours but for more": {jobRemoved("snapm-create@x.timer.bak"), true},
	} {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			var raw bytes.Buffer
			if err := tc.msg.EncodeTo(&raw, order); err != nil {
				t.Fatal(err)
			}
			msg, ok := busconn.Parse(raw.Bytes())
			if !ok {
				t.Fatalf("%s, %v: not parsed", name, order)
			}
			if got := Foreign(&msg); got != tc.want {
				t.Errorf("%s, %v: Foreign %v, want %v", name, order, got, tc.want)
			}
		}
	}
}
