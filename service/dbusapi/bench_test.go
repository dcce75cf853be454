package dbusapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// BenchmarkGetManagedObjects: building and encoding the reply for 10,000
// timers, the part of GetManagedObjects the daemon owns.
func BenchmarkGetManagedObjects(b *testing.B) {
	list := make([]timers.Snapshot, 10000)
	for i := range list {
		list[i] = timers.Snapshot{Key: timers.Key{Type: timers.TypeGC, Name: fmt.Sprintf("t%05d", i)}, Spec: "daily",
			Normalized: "*-*-* 00:00:00", Status: timers.StatusRunning, Enabled: true, Running: true, NextElapse: 1, Occurs: true}
	}
	s, err := NewServer(context.Background(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, snap := range list {
		s.publish(snap)
	}
	var buf bytes.Buffer
	for b.Loop() {
		objects, _ := objectManager{s}.GetManagedObjects()
		msg := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(uint32(1)),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(objects))}, Body: []any{objects}}
		buf.Reset()
		if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "reply-bytes")
}
