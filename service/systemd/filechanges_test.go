package systemd

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

const systemdSender = ":1.1"

func ufc(sender string) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldSender: dbus.MakeVariant(sender), dbus.FieldInterface: dbus.MakeVariant(managerIface),
		dbus.FieldMember: dbus.MakeVariant("UnitFilesChanged"), dbus.FieldPath: dbus.MakeVariant(managerPath)}}
}

func reply(sender string, body ...any) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeMethodReply, Body: body, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldSender: dbus.MakeVariant(sender), dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(body...))}}
}

// ownerChanged is the bus saying that systemd1 has a new owner.
func ownerChanged(newOwner string) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeSignal, Body: []any{busName, "", newOwner}, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldSender: dbus.MakeVariant(dbusName), dbus.FieldInterface: dbus.MakeVariant(dbusIface),
		dbus.FieldMember: dbus.MakeVariant("NameOwnerChanged"), dbus.FieldPath: dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/DBus"))}}
}

func propertiesChanged(sender string) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldSender: dbus.MakeVariant(sender), dbus.FieldInterface: dbus.MakeVariant(propsIface),
		dbus.FieldMember: dbus.MakeVariant("PropertiesChanged")}}
}

type change struct{ Type, File, Dest string }

var someChanges = []change{{"symlink", "/etc/systemd/system/timers.target.wants/x.timer", "/etc/x.timer"}}

// resyncs records, for each Resync, which UnitFilesChanged it was for:
// the index the tracker is handling when judge calls it.
type resyncs struct {
	f  *FileChanges
	mu sync.Mutex
	of []uint64
}

func (r *resyncs) UnitChanged(string, uint64, func(*timers.UnitState))   {}
func (r *resyncs) ServiceChanged(string, uint64, func(*timers.RunState)) {}

func (r *resyncs) Resync(timers.Reads) {
	r.f.mu.Lock()
	idx := r.f.handled
	r.f.mu.Unlock()
	r.mu.Lock()
	r.of = append(r.of, idx)
	r.mu.Unlock()
}

func (r *resyncs) resynced() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.of)
}

// TestFileChanges: only the UnitFilesChanged right before the reply of
// one of our unit-file calls that reports changes is ours.
func TestFileChanges(t *testing.T) {
	t.Parallel()
	for desc, tc := range map[string]struct {
		inFlight    bool
		messages    []*dbus.Message
		wantResyncs []uint64 // which UnitFilesChanged, counted from 1, cost a resync
	}{
		"nothing of ours in flight": {messages: []*dbus.Message{ufc(systemdSender)}, wantResyncs: []uint64{1}},
		"our EnableUnitFiles": {inFlight: true,
			messages: []*dbus.Message{ufc(systemdSender), reply(systemdSender, true, someChanges)}},
		"our DisableUnitFiles": {inFlight: true,
			messages: []*dbus.Message{ufc(systemdSender), reply(systemdSender, someChanges)}},
		"our call changed nothing": {inFlight: true,
			messages:    []*dbus.Message{ufc(systemdSender), reply(systemdSender, true, []change{})},
			wantResyncs: []uint64{1}},
		"something else came next": {inFlight: true,
			messages: []*dbus.Message{ufc(systemdSender), propertiesChanged(systemdSender),
				reply(systemdSender, true, someChanges)},
			wantResyncs: []uint64{1}},
		"someone else's, then ours": {inFlight: true,
			messages: []*dbus.Message{ufc(systemdSender), ufc(systemdSender),
				reply(systemdSender, someChanges)},
			wantResyncs: []uint64{1}},
		"a reply of another shape": {inFlight: true,
			messages:    []*dbus.Message{ufc(systemdSender), reply(systemdSender, dbus.ObjectPath("/job/1"))},
			wantResyncs: []uint64{1}},
		// Forged signals are dropped before they are counted: the
		// owner's one here is the first, and ours.
		"a forged signal from another peer": {inFlight: true,
			messages: []*dbus.Message{ufc(":1.99"), ufc(systemdSender),
				propertiesChanged(":1.99"), reply(systemdSender, someChanges)}},
		"forged signals, nothing of ours in flight": {
			messages: []*dbus.Message{ufc(":1.99"), ufc(dbusName), ufc("")}},
		"a forged owner change": {
			messages: []*dbus.Message{forgedOwnerChanged(":1.99"), ufc(":1.99")}},
		// Its next message never comes: the signal is judged someone
		// else's once the wait for it is over.
		"systemd gone before its verdict": {inFlight: true,
			messages:    []*dbus.Message{ufc(systemdSender), ownerChanged(""), ownerChanged(":1.50")},
			wantResyncs: []uint64{1}},
		"systemd back with a new name": {
			messages: []*dbus.Message{ownerChanged(""), ufc(systemdSender), ownerChanged(":1.50"),
				ufc(systemdSender), ufc(":1.50")},
			wantResyncs: []uint64{1}},
	} {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			f := NewFileChanges()
			ctx, cancel := context.WithCancel(context.Background())
			ev := &resyncs{f: f}
			done := make(chan struct{})
			go func() { f.judge(ctx, ev); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			f.Intercept(ownerChanged(systemdSender))
			send := f.Intercept
			if tc.inFlight {
				release, called, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
				go func() {
					f.call(func() error { close(called); <-release; return nil })
					close(returned)
				}()
				<-called
				for _, m := range tc.messages {
					send(m)
				}
				close(release)
				<-returned
			} else {
				for _, m := range tc.messages {
					send(m)
				}
			}
			// A last signal with nothing of ours in flight is judged at
			// once and resynced; judge goes in order, so once its resync
			// is in, every verdict before it has been acted on.
			send(ufc(*f.owner.name.Load()))
			f.mu.Lock()
			sentinel := f.counted
			f.mu.Unlock()
			for deadline := time.Now().Add(10 * time.Second); !slices.Contains(ev.resynced(), sentinel); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("judge did not resync the last signal within 10s; resyncs so far for %v", ev.resynced())
				}
			}
			if got := ev.resynced(); !slices.Equal(got[:len(got)-1], tc.wantResyncs) {
				t.Errorf("resyncs for signals %v, want %v", got[:len(got)-1], tc.wantResyncs)
			}
		})
	}
}

// TestFileChangesUndecided: a signal whose verdict never comes counts as
// someone else's once the wait is over (here, the daemon stopping).
func TestFileChangesUndecided(t *testing.T) {
	t.Parallel()
	f := NewFileChanges()
	release := make(chan struct{})
	called := make(chan struct{})
	go f.call(func() error { close(called); <-release; return nil })
	<-called
	t.Cleanup(func() { close(release) })
	f.Intercept(ownerChanged(systemdSender))
	f.Intercept(ufc(systemdSender))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f.ours(ctx, 1) {
		t.Error("an undecided signal counted as ours")
	}
	f.Intercept(reply(systemdSender, someChanges)) // the late verdict is dropped
	if len(f.verdicts) != 0 {
		t.Errorf("verdicts kept: %v", f.verdicts)
	}
}

// forgedOwnerChanged claims a new owner for systemd1, from a peer that is
// not the bus.
func forgedOwnerChanged(newOwner string) *dbus.Message {
	m := ownerChanged(newOwner)
	m.Headers[dbus.FieldSender] = dbus.MakeVariant(newOwner)
	return m
}
