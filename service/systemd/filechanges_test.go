package systemd

import (
	"context"
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

type resyncs struct {
	mu sync.Mutex
	n  int
}

func (r *resyncs) UnitChanged(string, uint64, func(*timers.UnitState))   {}
func (r *resyncs) ServiceChanged(string, uint64, func(*timers.RunState)) {}
func (r *resyncs) Resync(timers.Reads)                                   { r.mu.Lock(); r.n++; r.mu.Unlock() }
func (r *resyncs) count() int                                            { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

// TestFileChanges: only the UnitFilesChanged right before the reply of
// one of our unit-file calls that reports changes is ours.
func TestFileChanges(t *testing.T) {
	for _, tc := range []struct {
		desc        string
		inFlight    bool
		messages    []*dbus.Message
		wantResyncs int
	}{
		{"nothing of ours in flight", false, []*dbus.Message{ufc(systemdSender)}, 1},
		{"our EnableUnitFiles", true, []*dbus.Message{ufc(systemdSender), reply(systemdSender, true, someChanges)}, 0},
		{"our DisableUnitFiles", true, []*dbus.Message{ufc(systemdSender), reply(systemdSender, someChanges)}, 0},
		{"our call changed nothing", true, []*dbus.Message{ufc(systemdSender), reply(systemdSender, true, []change{})}, 1},
		{"something else came next", true, []*dbus.Message{ufc(systemdSender), propertiesChanged(systemdSender),
			reply(systemdSender, true, someChanges)}, 1},
		{"someone else's, then ours", true, []*dbus.Message{ufc(systemdSender), ufc(systemdSender),
			reply(systemdSender, someChanges)}, 1},
		{"a reply of another shape", true, []*dbus.Message{ufc(systemdSender), reply(systemdSender, dbus.ObjectPath("/job/1"))}, 1},
		{"a forged signal from another peer", true, []*dbus.Message{ufc(":1.99"), ufc(systemdSender),
			propertiesChanged(":1.99"), reply(systemdSender, someChanges)}, 0},
		{"forged signals, nothing of ours in flight", false, []*dbus.Message{ufc(":1.99"), ufc(dbusName), ufc("")}, 0},
		{"a forged owner change", false, []*dbus.Message{forgedOwnerChanged(":1.99"), ufc(":1.99")}, 0},
		{"systemd back with a new name", false, []*dbus.Message{ownerChanged(""), ufc(systemdSender),
			ownerChanged(":1.50"), ufc(systemdSender), ufc(":1.50")}, 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := NewFileChanges()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ev := &resyncs{}
			done := make(chan struct{})
			go func() { f.judge(ctx, ev); close(done) }()
			release := make(chan struct{})
			called := make(chan struct{})
			if tc.inFlight {
				go f.call(func() error { close(called); <-release; return nil })
				<-called
			}
			f.Intercept(ownerChanged(systemdSender))
			for _, m := range tc.messages {
				f.Intercept(m)
			}
			close(release)
			// Every verdict is in by now; wait for judge to act on them.
			deadline := time.Now().Add(time.Second)
			for f.handledAll() == false && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := ev.count(); got != tc.wantResyncs {
				t.Errorf("%d resyncs, want %d", got, tc.wantResyncs)
			}
			cancel()
			<-done
		})
	}
}

func (f *FileChanges) handledAll() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handled == f.counted
}

// forgedOwnerChanged claims a new owner for systemd1, from a peer that is
// not the bus.
func forgedOwnerChanged(newOwner string) *dbus.Message {
	m := ownerChanged(newOwner)
	m.Headers[dbus.FieldSender] = dbus.MakeVariant(newOwner)
	return m
}

// TestFileChangesUndecided: a signal whose verdict never comes counts as
// someone else's once the wait is over (here, the daemon stopping).
func TestFileChangesUndecided(t *testing.T) {
	f := NewFileChanges()
	release := make(chan struct{})
	called := make(chan struct{})
	go f.call(func() error { close(called); <-release; return nil })
	<-called
	defer close(release)
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
