package dbusapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

const benchTimers = 10000

// benchSnapshots are the states of benchTimers enabled and running timers.
func benchSnapshots() []timers.Snapshot {
	list := make([]timers.Snapshot, benchTimers)
	for i := range list {
		list[i] = timers.Snapshot{Key: timers.Key{Type: timers.TypeGC, Name: fmt.Sprintf("t%05d", i)}, Instance: uint64(i + 1),
			Spec: "daily", Normalized: "*-*-* 00:00:00", Status: timers.StatusRunning, Enabled: true, Running: true,
			NextElapse: 1798675200000000, LastTrigger: 1798588800000000 + uint64(i), Occurs: true, Activity: timers.ActivityIdle}
	}
	return list
}

// benchServer has list published, as after start-up over them.
func benchServer(b testing.TB, list []timers.Snapshot) *Server {
	b.Helper()
	s, err := NewServer(context.Background(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, snap := range list {
		s.publish(snap)
	}
	return s
}

// BenchmarkGetManagedObjects: building and encoding the reply for 10,000
// timers, the part of GetManagedObjects the daemon owns. godbus's unix
// transport encodes every message twice (once to count its file
// descriptors), and so does this.
func BenchmarkGetManagedObjects(b *testing.B) {
	s := benchServer(b, benchSnapshots())
	var buf bytes.Buffer
	for b.Loop() {
		objects, _ := objectManager{s}.GetManagedObjects()
		msg := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(uint32(1)),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(objects))}, Body: []any{objects}}
		if _, err := msg.CountFds(); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "reply-bytes")
}

// BenchmarkObjectMemory: the heap the published objects of 10,000 timers
// hold, per timer, beside the size of a snapshot (what any copy of the
// published state costs; its strings are the domain's).
func BenchmarkObjectMemory(b *testing.B) {
	list := benchSnapshots()
	var held uint64
	for b.Loop() {
		before := liveHeap()
		s := benchServer(b, list)
		held = liveHeap() - before
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(held)/benchTimers, "object-B/timer")
	b.ReportMetric(float64(unsafe.Sizeof(timers.Snapshot{})), "snapshot-B/timer")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
