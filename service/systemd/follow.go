package systemd

import (
	"context"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/timers"
)

// follower keeps dbus-daemon from sending us what systemd signals about
// units that are not ours: each timer the domain holds has a match rule
// for the object paths of its timer and its service, and JobRemoved is
// matched only while a job of ours is awaited. A match rule names whole
// object paths or path namespaces, so there is no one rule for "our"
// units; and dbus-daemon caps the rules of a connection (512 by
// default on the system bus). Past maxNarrow timers the follower goes
// wide: one rule for every unit's PropertiesChanged and one for every
// JobRemoved, as before it, with busFilter dropping the other units'
// signals before they are decoded. It narrows again at half that.
//
// Every rule is sent without waiting for its reply, but before any read
// the caller makes next: dbus-daemon takes a connection's messages in
// order, so a rule is in force before systemd sees the read, and nothing
// systemd signals after the read can be missed.
type follower struct {
	bus  dbus.BusObject
	log  *zap.Logger
	mu   sync.Mutex
	keys map[timers.Key]int // Follow counts, less Unfollow
	jobs int                // jobs awaited
	wide bool
	// refused: dbus-daemon refused a rule (a lower limit than its
	// default, say), and the follower stays wide.
	refused bool
	// added are AddMatch calls whose replies check has yet to read;
	// wake tells it there are some.
	added []*dbus.Call
	wake  chan struct{}
}

// maxNarrow is the most timers followed with rules of their own: two
// each, well within dbus-daemon's default of 512.
const maxNarrow = 128

const (
	addMatch    = "org.freedesktop.DBus.AddMatch"
	removeMatch = "org.freedesktop.DBus.RemoveMatch"
	jobsRule    = "type='signal',sender='" + busName + "',path='" + string(managerPath) + "',interface='" + managerIface + "',member='JobRemoved'"
	propsRule   = "type='signal',sender='" + busName + "',interface='" + propsIface + "',member='PropertiesChanged'"
	wideRule    = propsRule + ",path_namespace='" + unitNamespace + "'"
)

func newFollower(conn *dbus.Conn, log *zap.Logger) *follower {
	return &follower{bus: conn.BusObject(), log: log, keys: map[timers.Key]int{}, wake: make(chan struct{}, 1)}
}

func unitRules(key timers.Key) [2]string {
	return [2]string{propsRule + ",path='" + string(UnitPath(key.Unit())) + "'",
		propsRule + ",path='" + string(UnitPath(key.ServiceUnit())) + "'"}
}

// follow makes systemd's signals about key's timer and service reach us
// before any call made after it returns.
func (f *follower) follow(key timers.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[key]++
	if f.keys[key] > 1 || f.wide {
		return
	}
	if len(f.keys) > maxNarrow {
		f.widen()
		return
	}
	for _, r := range unitRules(key) {
		f.add(r)
	}
}

// unfollow undoes one follow of key.
func (f *follower) unfollow(key timers.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys[key] > 1 {
		f.keys[key]--
		return
	}
	if _, ok := f.keys[key]; !ok {
		return
	}
	delete(f.keys, key)
	switch {
	case !f.wide:
		for _, r := range unitRules(key) {
			f.remove(r)
		}
	case !f.refused && len(f.keys) <= maxNarrow/2:
		f.narrow()
	}
}

// jobBegin makes JobRemoved reach us before the caller's next call.
func (f *follower) jobBegin() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs++
	if f.jobs == 1 && !f.wide {
		f.add(jobsRule)
	}
}

func (f *follower) jobEnd() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs--
	if f.jobs == 0 && !f.wide {
		f.remove(jobsRule)
	}
}

// widen and narrow add the new rules before they remove the old, so that
// no signal falls between; f.mu held.
func (f *follower) widen() {
	f.wide = true
	f.add(wideRule)
	if f.jobs == 0 {
		f.add(jobsRule)
	}
	for key := range f.keys {
		for _, r := range unitRules(key) {
			f.remove(r)
		}
	}
}

func (f *follower) narrow() {
	f.wide = false
	for key := range f.keys {
		for _, r := range unitRules(key) {
			f.add(r)
		}
	}
	if f.jobs == 0 {
		f.remove(jobsRule)
	}
	f.remove(wideRule)
}

// add sends an AddMatch and hands its reply to check; f.mu held, which
// also keeps rules in the order they were decided.
func (f *follower) add(rule string) {
	f.added = append(f.added, f.bus.Go(addMatch, 0, nil, rule))
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// remove needs no reply: a rule that is not there is no harm.
func (f *follower) remove(rule string) {
	f.bus.Go(removeMatch, dbus.FlagNoReplyExpected, nil, rule)
}

// check reads the replies to AddMatch until ctx ends. A refused rule may
// have cost signals: the follower goes wide for good and every timer is
// read again.
func (f *follower) check(ctx context.Context, ev Events) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		calls := f.added
		f.added = nil
		f.mu.Unlock()
		refused := false
		for _, call := range calls {
			select {
			case <-ctx.Done():
				return
			case <-call.Done:
			}
			if call.Err != nil && !refused {
				refused = true
				f.log.Error("the bus refused a match rule; following every unit from now on",
					zap.String("rule", fmt.Sprint(call.Args...)), zap.Error(call.Err))
			}
		}
		if !refused {
			continue
		}
		f.mu.Lock()
		f.refused = true
		if !f.wide {
			f.widen()
		}
		f.mu.Unlock()
		ev.Resync(timers.ReadAll)
	}
}
