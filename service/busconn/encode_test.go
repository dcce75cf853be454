package busconn

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"
)

// A reply built with Reply and the Encoder is what godbus decodes, for
// every type Variant takes; others are refused.
func TestEncoderIsGodbus(t *testing.T) {
	t.Parallel()
	values := []any{"s", dbus.ObjectPath("/o/p"), true, false, byte(7), int32(-3), uint32(4), int64(-5), uint64(1 << 40), 2.5,
		[]string{"a", "bc"}, []string{}, map[string]uint32{"keep_daily": 7, "keep_hourly": 24, "b": 0}, map[string]uint32{}}
	var body Encoder
	lenAt, start := body.BeginArray(8)
	for i, v := range values {
		body.Align(8)
		body.String(fmt.Sprint("k", i))
		if err := body.Variant(dbus.MakeVariant(v)); err != nil {
			t.Fatal(err)
		}
	}
	body.EndArray(lenAt, start)
	raw := append(Reply(":1.9", 12, "a{sv}", len(body.B)), body.B...)
	msg, err := dbus.DecodeMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := msg.Body[0].(map[string]dbus.Variant)
	for i, v := range values {
		if g := got[fmt.Sprint("k", i)]; fmt.Sprint(g) != fmt.Sprint(dbus.MakeVariant(v)) {
			t.Errorf("%T %v came back as %v", v, v, g)
		}
	}
	if msg.Type != dbus.TypeMethodReply || msg.Headers[dbus.FieldReplySerial].Value() != uint32(12) ||
		msg.Headers[dbus.FieldDestination].Value() != ":1.9" {
		t.Errorf("header: %v", msg.Headers)
	}
	if err := new(Encoder).Variant(dbus.MakeVariant(map[string]int{})); err == nil {
		t.Error("a map encoded, want an error")
	}
}
