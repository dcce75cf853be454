package systemd

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/busconn"
	"github.com/snapm/snapm-timersd/service/timers"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

type noEvents struct{}

func (noEvents) UnitChanged(string, uint64, func(*timers.UnitState))   {}
func (noEvents) ServiceChanged(string, uint64, func(*timers.RunState)) {}
func (noEvents) Resync(timers.Reads)                                   {}

// What dbus-daemon sends the daemon of systemd's unit signals: only those
// of the timers followed and their services, and JobRemoved only while a
// job is awaited; past maxNarrow timers every unit's, of which only ours
// get through the filter; and back to the timers' own below half of it.
func TestFollowerMatchesOnlyFollowedUnits(t *testing.T) {
	t.Parallel()
	addr := testbus.Start(t)
	sd, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if reply, err := sd.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	bc, err := busconn.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	bc.AddFilter(Foreign)
	conn := bc.Conn
	const marker = "org.example.Test"
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(marker)); err != nil {
		t.Fatal(err)
	}
	signals := make(chan *dbus.Signal, 64)
	conn.Signal(signals)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFollower(conn, zap.NewNop())
	done := make(chan struct{})
	go func() { defer close(done); f.check(ctx, noEvents{}) }()
	defer func() { cancel(); <-done }()

	a := timers.Key{Type: timers.TypeCreate, Name: "a"}
	b := timers.Key{Type: timers.TypeGC, Name: "b"}
	// received says which of these systemd signals reach the daemon.
	received := func(step string, want ...string) {
		t.Helper()
		// A call of the daemon's after the rules, as its reads are: the bus
		// has taken the rules once it answers. (Another peer's messages,
		// like the emitter's, are not ordered against ours.)
		if err := conn.BusObject().Call("org.freedesktop.DBus.GetId", 0).Err; err != nil {
			t.Fatal(err)
		}
		units := []string{a.Unit(), a.ServiceUnit(), b.Unit(), "other.service"}
		for _, unit := range units {
			if err := sd.Emit(UnitPath(unit), propsIface+".PropertiesChanged", "org.freedesktop.systemd1.Unit",
				map[string]dbus.Variant{"ActiveState": dbus.MakeVariant("active")}, []string{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, unit := range units {
			if err := sd.Emit(managerPath, managerIface+".JobRemoved", uint32(1), dbus.ObjectPath("/job/1"), unit, "done"); err != nil {
				t.Fatal(err)
			}
		}
		// The bus keeps a sender's order: once this is in, so is the rest.
		if err := sd.Emit("/", marker+".Done"); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			select {
			case sig := <-signals:
				switch sig.Name {
				case marker + ".Done":
					if !slices.Equal(got, want) {
						t.Errorf("%s: received %q, want %q", step, got, want)
					}
					return
				case managerIface + ".JobRemoved":
					got = append(got, "job "+sig.Body[2].(string))
				default:
					unit, _ := unitFromPath(sig.Path)
					got = append(got, unit)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the marker never came; received %q", step, got)
			}
		}
	}
	received("nothing followed")
	f.follow(a)
	received("a followed", a.Unit(), a.ServiceUnit())
	f.jobBegin()
	// Of any unit ours by name: dbus-daemon sends every JobRemoved, and
	// the filter keeps those.
	received("a job awaited", a.Unit(), a.ServiceUnit(), "job "+a.Unit(), "job "+a.ServiceUnit(), "job "+b.Unit())
	f.jobEnd()
	received("the job over", a.Unit(), a.ServiceUnit())
	f.follow(a)
	f.unfollow(a)
	received("a followed twice, unfollowed once", a.Unit(), a.ServiceUnit())
	var many []timers.Key
	for i := range maxNarrow {
		many = append(many, timers.Key{Type: timers.TypeGC, Name: fmt.Sprintf("n%d", i)})
		f.follow(many[i])
	}
	received("wide", a.Unit(), a.ServiceUnit(), b.Unit(), "job "+a.Unit(), "job "+a.ServiceUnit(), "job "+b.Unit())
	for _, key := range many[maxNarrow/2:] {
		f.unfollow(key)
	}
	received("wide still, above half", a.Unit(), a.ServiceUnit(), b.Unit(), "job "+a.Unit(), "job "+a.ServiceUnit(), "job "+b.Unit())
	f.unfollow(many[0])
	received("narrow again", a.Unit(), a.ServiceUnit())
	f.unfollow(a)
	received("a unfollowed")
}
