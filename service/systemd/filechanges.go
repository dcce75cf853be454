package systemd

import (
	"context"
	"reflect"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// FileChanges tells the UnitFilesChanged signals our own EnableUnitFiles
// and DisableUnitFiles calls caused from everyone else's. Ours need
// nothing (the operation re-reads its unit); the others mean any timer's
// unit file state may have changed, and that costs a read of every timer.
//
// systemd sends the signal and then the reply to the call that caused it
// back to back, and a peer's messages reach us in the order it sent them.
// So a UnitFilesChanged is ours exactly when the next message from the
// same sender is the reply to one of our unit-file calls, reporting
// changes. Intercept sees every incoming message in that order, and it is
// also where systemd's bus name is followed (owner): a UnitFilesChanged
// from anyone else is dropped there, before it costs anything.
// A verdict waits for systemd's next message, which the reply to our call
// in flight bounds (if systemd left the bus meanwhile, its first message
// under the new name decides).
// Needed by: tests/realsystemd TestOwnEnablesCostNoResync; differential:
// tests/realsystemd TestOthersFileChangesSeenBesideOurs.
type FileChanges struct {
	owner    *owner
	mu       sync.Mutex
	inFlight int    // our unit-file calls awaiting their reply
	counted  uint64 // systemd's UnitFilesChanged signals intercepted
	handled  uint64 // judge is done with every index up to this
	pending  uint64 // systemd's last UnitFilesChanged, awaiting its next message; 0: none
	verdicts map[uint64]chan bool
	// wake tells the judging goroutine there are more signals.
	wake chan struct{}
}

// NewFileChanges returns a tracker; install Intercept on the connection
// with dbus.WithIncomingInterceptor and give the tracker to New.
func NewFileChanges() *FileChanges {
	return &FileChanges{owner: newOwner(), verdicts: map[uint64]chan bool{}, wake: make(chan struct{}, 1)}
}

// Intercept runs on the connection's reader for every incoming message, in
// order.
func (f *FileChanges) Intercept(msg *dbus.Message) {
	f.owner.follow(msg)
	sender, _ := msg.Headers[dbus.FieldSender].Value().(string)
	if !f.owner.is(sender) {
		return
	}
	f.mu.Lock()
	if f.pending != 0 {
		f.decide(f.pending, msg.Type == dbus.TypeMethodReply && reportsChanges(msg))
		f.pending = 0
	}
	if !isUnitFilesChanged(msg) {
		f.mu.Unlock()
		return
	}
	f.counted++
	if f.inFlight == 0 {
		f.decide(f.counted, false) // none of ours could have caused it
	} else {
		f.pending = f.counted
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func isUnitFilesChanged(msg *dbus.Message) bool {
	iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	return msg.Type == dbus.TypeSignal && iface == managerIface && member == "UnitFilesChanged"
}

// reportsChanges: msg is the reply to EnableUnitFiles (ba(sss)) or
// DisableUnitFiles (a(sss)) with a non-empty list of changes. No other
// call of ours returns either signature.
func reportsChanges(msg *dbus.Message) bool {
	sig, _ := msg.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	if (sig.String() != "ba(sss)" && sig.String() != "a(sss)") || len(msg.Body) == 0 {
		return false
	}
	changes := reflect.ValueOf(msg.Body[len(msg.Body)-1])
	return changes.Kind() == reflect.Slice && changes.Len() > 0
}

// decide records the verdict on the idx-th UnitFilesChanged; f.mu held.
func (f *FileChanges) decide(idx uint64, own bool) {
	if idx <= f.handled {
		return // judge stopped waiting for it
	}
	f.slot(idx) <- own
}

func (f *FileChanges) slot(idx uint64) chan bool {
	ch, ok := f.verdicts[idx]
	if !ok {
		ch = make(chan bool, 1)
		f.verdicts[idx] = ch
	}
	return ch
}

// judge resyncs for every UnitFilesChanged that is not ours, in order and
// without holding up the other signals while it waits for a verdict.
func (f *FileChanges) judge(ctx context.Context, ev Events) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		for {
			f.mu.Lock()
			next, more := f.handled+1, f.handled < f.counted
			f.mu.Unlock()
			if !more {
				break
			}
			own := f.ours(ctx, next)
			if ctx.Err() != nil {
				return
			}
			if !own {
				ev.Resync(timers.ReadUnitFile)
			}
		}
	}
}

// ours reports whether our own call caused the idx-th UnitFilesChanged.
// judge calls it for every index in order.
func (f *FileChanges) ours(ctx context.Context, idx uint64) bool {
	f.mu.Lock()
	ch := f.slot(idx)
	f.mu.Unlock()
	own := false
	select {
	case own = <-ch:
	case <-ctx.Done():
	}
	f.mu.Lock()
	delete(f.verdicts, idx)
	f.handled = idx
	f.mu.Unlock()
	return own
}

// call wraps one of our unit-file calls.
func (f *FileChanges) call(fn func() error) error {
	f.mu.Lock()
	f.inFlight++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	return fn()
}
