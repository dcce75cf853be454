// The Timer: its state, its two locks, and every method on it.
//
// Locks: Timer.op (a one-slot channel, so it can be given up when a
// context ends) serializes operations on the timer and is held while
// waiting on systemd; Timer.mu guards the fields and is never held while
// waiting on anything. Methods that need Timer.mu held say so.
// Needed by: TestConflicts (one lock deadlocks "snapm re-enables while the daemon disables").

package timers

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// Snapshot is a timer's published state: what clients read and what a
// PropertiesChanged reports. It is a value; comparing two tells whether
// anything a client can see changed.
type Snapshot struct {
	Key
	// Instance tells apart timers that had the same key one after the
	// other (removed, then created again); it is not a property.
	Instance   uint64
	Spec       string
	Normalized string
	Status     Status
	// StatusReason says why Status is invalid, or that the timer is
	// masked; empty otherwise.
	StatusReason StatusReason
	// Enabled is systemd's unit file state; Running is whether systemd has
	// the timer active. Status is the verdict over both and the drop-in.
	Enabled     bool
	Running     bool
	NextElapse  uint64
	LastTrigger uint64
	Occurs      bool
	// The last run of the timer's service, as systemd tells it; empty
	// (and zero) when it never ran since boot.
	LastRunResult     string
	LastRunExitStatus int32
	LastRunStart      uint64
	LastRunEnd        uint64
	LastRunInvocation string
	Activity          Activity
	// NeedDaemonReload: systemd runs a configuration other than the one
	// on disk (CalendarSpec, Normalized) until a daemon-reload.
	NeedDaemonReload bool
	// SnapmStatus is the status snapm computes (see snapmStatus), and
	// CalendarNext the next elapse of Spec as snapm computes it, from the
	// expression alone; neither is a property of the timer, its
	// schedule's Enabled, Running and NextElapse come from them.
	SnapmStatus  Status
	CalendarNext uint64
}

// Timer is one schedule. Operations on it are serialized by op; state
// updates (from operations and from systemd's signals) by mu, which is never
// held while waiting on systemd.
type Timer struct {
	key      Key
	instance uint64
	op       chan struct{}
	// log carries the unit, for every message about this timer.
	log *zap.Logger

	mu     sync.Mutex
	spec   string
	cal    calendar.Info
	calErr error
	dropIn bool
	// dropInErr says why the drop-in, which is there, cannot be read; the
	// timer is invalid until it is written again.
	dropInErr error
	unit      UnitState
	// seq orders reads against signals. Needed by: TestSignalOlderThanReadIgnored.
	seq uint64
	// readSeq orders the reads of what systemd never signals.
	// Needed by: TestApplyRead ("a read older than a signal ...").
	readSeq uint64
	// run is the service's state; runSeq orders its reads and signals.
	// Needed by: TestServiceSignalOlderThanReadIgnored.
	run     RunState
	runSeq  uint64
	removed bool
	// announced is set once the Observer knows the timer; changes before
	// that are folded into its first appearance. pending: found on disk
	// in a state held back (see settle.go), it is announced once that
	// state is published.
	announced bool
	pending   bool
	snap      Snapshot
	// settleUntil is when a state held back is published (settle.go),
	// zero when none is; heldBack says one was withheld.
	settleUntil time.Time
	heldBack    bool
	// now is the Manager's clock; wake has its elapse keeper look at the
	// timers again.
	now  func() time.Time
	wake func()
	// settle is Config.SettleTime.
	settle time.Duration
	// owed is what must be read again before the state can be trusted:
	// set when a resync finds the timer busy, or a signal leaves its
	// LoadState unknown. The reader pays it; whoever lets go of the
	// operation lock hands the timer to the reader if it is still owed.
	// Needed by: TestBulkReadSkipsBusyTimer.
	owed     Reads
	released func(*Timer)
	// unclaimed: made for its schedule file alone (scheduled.go), with no
	// record; a CreateTimer takes it over.
	unclaimed bool
}

func (m *Manager) newTimer(key Key, spec string, cal calendar.Info, calErr error) *Timer {
	t := &Timer{key: key, instance: m.instances.Add(1), op: make(chan struct{}, 1), log: m.log.With(zap.String("unit", key.Unit())),
		spec: spec, cal: cal, calErr: calErr, released: m.queueIfOwed, now: m.cfg.Now, wake: m.pokeElapses, settle: m.cfg.SettleTime}
	t.snap = t.derive()
	// Before anything reads it: a change between a read and the match
	// would be lost.
	m.cfg.Systemd.Follow(key)
	return t
}

// lock takes the timer's operation lock, giving up when ctx ends.
func (t *Timer) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case t.op <- struct{}{}:
		return t.unlock, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tryLock takes the operation lock if it is free.
func (t *Timer) tryLock() (unlock func(), ok bool) {
	select {
	case t.op <- struct{}{}:
		return t.unlock, true
	default:
		return nil, false
	}
}

// unlock lets go of the operation lock, then hands the timer to the
// reader if a read fell due while it was held.
func (t *Timer) unlock() {
	<-t.op
	t.released(t)
}

// Snapshot returns the timer's published state.
func (t *Timer) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap
}

// shown returns the timer's published state, if it was announced: one
// still being created (and perhaps rolled back) is no one's to see yet.
func (t *Timer) shown() (Snapshot, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap, t.announced
}

// derive computes the snapshot from the state; t.mu held.
func (t *Timer) derive() Snapshot {
	s := Snapshot{
		Key:         t.key,
		Instance:    t.instance,
		Spec:        t.spec,
		Normalized:  t.cal.Normalized,
		Status:      DeriveStatus(t.dropIn, t.unit),
		Enabled:     t.unit.UnitFileState == "enabled",
		Running:     t.unit.active(),
		LastTrigger: t.unit.LastTrigger,
		NextElapse:  t.cal.Next,

		NeedDaemonReload: t.unit.loaded() && t.unit.NeedDaemonReload,
		SnapmStatus:      snapmStatus(t.unit),
		CalendarNext:     t.cal.Next,
	}
	if t.dropInErr != nil {
		s.Status = StatusInvalid
	}
	// A masked timer is said to be one whatever its status: Enable and
	// Start are refused until it is unmasked.
	if r := DeriveReason(t.dropIn, t.dropInErr != nil, t.unit); s.Status == StatusInvalid || r == ReasonMasked {
		s.StatusReason = r
	}
	if t.systemdCalendar() != "" {
		s.Normalized = t.systemdCalendar()
	}
	if s.Running && t.unit.NextElapse != 0 {
		// While systemd runs the timer its own answer is the truth (it
		// knows about accuracy, persistence, and the clock it really uses).
		// It has none while the triggered service runs, or between its
		// signals of a change; the schedule still occurs, as the engine
		// says.
		s.NextElapse = t.unit.NextElapse
	}
	s.Occurs = s.NextElapse != 0 || t.cal.Next != 0
	s.Activity = t.run.activity()
	if t.run.ran() {
		s.LastRunResult = t.run.Result
		s.LastRunExitStatus = t.run.ExecMainStatus
		s.LastRunStart, s.LastRunEnd = t.run.ExecMainStart, t.run.ExecMainExit
		s.LastRunInvocation = t.run.InvocationID
	}
	return s
}

// systemdCalendar is the normalized expression systemd runs for the
// timer, when systemd has loaded the drop-in as it is on disk; "" when it
// has not (or has several, which our drop-in never sets).
func (t *Timer) systemdCalendar() string {
	if !t.dropIn || t.dropInErr != nil || !t.unit.loaded() || t.unit.NeedDaemonReload || len(t.unit.Calendars) != 1 {
		return ""
	}
	return t.unit.Calendars[0]
}

// applyRead takes a read of systemd's runtime view made at seq; t.mu held.
func (t *Timer) applyRead(st UnitState, seq uint64) {
	fileState := t.unit.UnitFileState
	switch {
	case seq == 0: // dbus.NoSequence: not read, or the read failed
	case seq >= t.seq:
		t.unit, t.seq, t.readSeq = st, seq, seq
	case seq >= t.readSeq:
		// A signal newer than this read was applied meanwhile. Keep its
		// values, and take from the read only what systemd never signals
		// (TimersCalendar it only invalidates), unless a newer read gave
		// them.
		t.unit.NeedDaemonReload, t.unit.Calendars, t.readSeq = st.NeedDaemonReload, st.Calendars, seq
	}
	t.unit.UnitFileState = fileState
}

// setEnabled records that we have just written the drop-in and enabled
// the unit, both at once: either alone is an invalid timer to whoever
// publishes it meanwhile (a signal, the elapse keeper), which it never was.
func (t *Timer) setEnabled() {
	t.mu.Lock()
	t.dropIn, t.dropInErr = true, nil
	t.unit.UnitFileState = "enabled"
	t.mu.Unlock()
}

// setCalendar changes the schedule in memory; op publishes it with the rest.
func (t *Timer) setCalendar(spec string, cal calendar.Info, calErr error) {
	t.mu.Lock()
	t.spec, t.cal, t.calErr = spec, cal, calErr
	t.mu.Unlock()
}

// publish recomputes the snapshot and reports a real change, unless it
// is a state held back (settle.go); t.mu held.
func (t *Timer) publish(obs Observer) {
	if t.removed {
		// Withdrawn: whatever still holds it (the elapse keeper walking
		// the timers as it goes) must not bring its object back.
		return
	}
	s := t.derive()
	if t.holdBack(s) {
		return
	}
	if t.pending {
		t.snap, t.pending, t.announced = s, false, true
		obs.TimerAdded(s)
		return
	}
	if s == t.snap {
		return
	}
	old := t.snap
	t.snap = s
	if t.announced {
		obs.TimerChanged(old, s)
	}
}
