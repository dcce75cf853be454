package dbusapi

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/busconn"
	"github.com/snapm/snapm-timersd/service/timers"
)

// managedMessage is the reply the shared path sends, decoded by godbus.
func managedMessage(t testing.TB, s *Server) *dbus.Message {
	t.Helper()
	body, err := s.managed.reply(s.managedInterfaces)
	if err != nil {
		t.Fatal(err)
	}
	raw := append(busconn.Reply(":1.42", 7, managedSig, len(body)), body...)
	msg, err := dbus.DecodeMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decoding the shared reply: %v", err)
	}
	return msg
}

// The shared reply says exactly what godbus's own encoding of the objects
// says, through changes and removals, with every kind of property value.
func TestManagedReplyIsGodbus(t *testing.T) {
	t.Parallel()
	s := benchServer(t, nil)
	check := func(step string) {
		t.Helper()
		msg := managedMessage(t, s)
		want, _ := objectManager{s}.GetManagedObjects()
		if len(msg.Body) != 1 || fmt.Sprint(msg.Body[0]) != fmt.Sprint(want) {
			t.Errorf("%s: shared reply\n%v\ngodbus's\n%v", step, msg.Body, want)
		}
		if got := msg.Headers[dbus.FieldReplySerial].Value(); got != uint32(7) {
			t.Errorf("%s: reply serial %v", step, got)
		}
		if got := msg.Headers[dbus.FieldDestination].Value(); got != ":1.42" {
			t.Errorf("%s: destination %v", step, got)
		}
	}
	check("no objects")
	snaps := benchSnapshots()[:3]
	for _, snap := range snaps {
		s.publish(snap)
	}
	check("three")
	changed := snaps[1]
	changed.Status, changed.Running, changed.LastRunExitStatus, changed.LastRunResult = timers.StatusInvalid, false, -3, "exit-code"
	s.TimerChanged(snaps[1], changed)
	check("one changed")
	s.TimerRemoved(snaps[0])
	check("one removed")
	s.publish(snaps[0])
	check("added again")
}

// BenchmarkManagedReply: the shared reply for 10,000 timers, encoded in
// full (every object changed since the last call) and as kept (nothing
// changed), beside BenchmarkGetManagedObjects, godbus's way.
func BenchmarkManagedReply(b *testing.B) {
	list := benchSnapshots()
	s := benchServer(b, list)
	b.Run("all changed", func(b *testing.B) {
		for b.Loop() {
			for _, snap := range list {
				s.managed.changed(TimerPath(snap.Key))
			}
			if _, err := s.managed.reply(s.managedInterfaces); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one changed", func(b *testing.B) {
		for b.Loop() {
			s.managed.changed(TimerPath(list[0].Key))
			if _, err := s.managed.reply(s.managedInterfaces); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kept", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.managed.reply(s.managedInterfaces); err != nil {
				b.Fatal(err)
			}
		}
	})
}
