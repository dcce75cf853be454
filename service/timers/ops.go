// The operations callers ask for: create, enable, start, stop, disable,
// set the calendar, remove; and their undo when systemd or the disk fails.
//
// Locks: each operation holds the timer's operation lock (Timer.op) from
// start to finish, so operations on one timer are serialized while other
// timers' go on; Timer.mu is taken briefly to read or change fields and to
// publish, never while waiting on systemd; Manager.mu only to insert or
// delete a timer in the map.

package timers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
)

func (m *Manager) parseCalendar(spec string) (calendar.Info, error) {
	// Control characters are refused before any parser sees them.
	if err := calendar.CheckText(spec); err != nil {
		return calendar.Info{}, err
	}
	return m.cfg.Calendar.Parse(spec, m.cfg.Now())
}

// CheckNew validates a would-be timer and the flags of its creation
// completely without creating it, so that authorization can run between
// validation and any change.
func (m *Manager) CheckNew(typ, name, spec string, flags uint64) (Key, error) {
	key, err := parseKey(typ, name)
	if err != nil {
		return Key{}, err
	}
	if err := checkTimerSpec(key, spec); err != nil {
		return Key{}, err
	}
	if _, err := m.parseCalendar(spec); err != nil {
		return Key{}, fmt.Errorf("timer %s: %w", key, err)
	}
	if _, err := ParseCreateFlags(flags); err != nil {
		return Key{}, err
	}
	return key, nil
}

// Create makes a new, disabled timer. Nothing is changed in systemd.
func (m *Manager) Create(ctx context.Context, typ, name, spec string) (Snapshot, error) {
	return m.CreateWithFlags(ctx, typ, name, spec, 0)
}

// CreateWithFlags makes a new timer of an existing schedule and, as flags
// ask, enables and starts it in the same call (see CreateFlags); flags 0
// is Create. A create timer's calendar becomes its schedule's too. A timer
// whose drop-in is already on disk is adopted as it is, neither enabled
// nor started, and ErrTimerExists says so.
func (m *Manager) CreateWithFlags(ctx context.Context, typ, name, spec string, flags uint64) (Snapshot, error) {
	f, err := ParseCreateFlags(flags)
	if err != nil {
		return Snapshot{}, err
	}
	key, err := parseKey(typ, name)
	if err != nil {
		return Snapshot{}, err
	}
	if err := checkTimerSpec(key, spec); err != nil {
		return Snapshot{}, err
	}
	cal, err := m.parseCalendar(spec)
	if err != nil {
		return Snapshot{}, fmt.Errorf("timer %s: %w", key, err)
	}
	e, unlockSchedule, err := m.lockSchedule(ctx, key.Name)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlockSchedule()
	sched, err := m.requireSchedule(e, key)
	if err != nil {
		return Snapshot{}, err
	}
	if _, err := m.timer(key); err == nil {
		return m.takeOver(ctx, e, sched, key, spec, cal, f)
	}
	diskSpec, present, err := dropin.Read(m.cfg.UnitDir, key.Unit())
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, key, err)
	}
	if present {
		// Configured on disk behind our back (say, by the Python snapm):
		// take it over as it is, and say that it exists.
		t := m.adoptedTimer(key, diskSpec)
		t.settleNow()
		if _, err := m.insert(ctx, t, func() {}); err != nil {
			return Snapshot{}, err
		}
		return Snapshot{}, fmt.Errorf("%w: %s is already configured on disk (with %q), and is now managed here", ErrTimerExists, key, diskSpec)
	}
	if key.Type == TypeCreate {
		if err := m.writeCalendar(e, sched, spec); err != nil {
			return Snapshot{}, err
		}
	}
	t := m.newTimer(key, spec, cal, nil)
	if f != 0 {
		return m.insertConfigured(ctx, t, f)
	}
	return m.insert(ctx, t, func() { m.makeDropInDir(t) })
}

// makeDropInDir makes the drop-in's directory of a timer just created:
// made now, it costs systemd nothing at Enable (see dropin.MakeDir);
// without it Enable makes it.
func (m *Manager) makeDropInDir(t *Timer) {
	if err := dropin.MakeDir(m.cfg.UnitDir, t.key.Unit()); err != nil {
		t.log.Warn("making the drop-in directory of a new timer, ignoring", zap.Error(err))
	}
}

// insert publishes a new timer and makes it durable; meanwhile runs once
// the timer is kept, while systemd is asked about it.
func (m *Manager) insert(ctx context.Context, t *Timer, meanwhile func()) (Snapshot, error) {
	unlock, err := m.claim(t)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()

	// The unit may already be known to systemd (say, enabled or started by
	// hand); the status must say so from the start. The enablement comes
	// from the symlinks, no call. The runtime state costs one GetUnit (and
	// a GetAll only if systemd has the unit loaded), asked while the record
	// reaches the disk: a unit loaded or started before we knew of it left
	// no trace we could have kept, as the signals of units we did not know
	// are dropped, and keeping a set of every loaded snapm unit from
	// UnitNew/UnitRemoved would put a second, unordered source of truth
	// beside the reads.
	read := m.readAhead(ctx, t, ReadAll)
	if err := m.store.put(t.key.record(t.spec)); err != nil {
		<-read
		m.mu.Lock()
		delete(m.timers, t.key)
		m.mu.Unlock()
		m.cfg.Systemd.Unfollow(t.key)
		return Snapshot{}, err
	}
	m.announce(t)
	m.pokeElapses()
	meanwhile()
	if err := m.apply(t, <-read); err != nil {
		t.log.Warn("reading systemd state of new timer", zap.Error(err))
	}
	return t.Snapshot(), nil
}

// claim takes a new timer's key, and its operation lock: new, so free
// (and never a nil unlock, whatever a context says), it keeps callers off
// the timer until it is complete.
func (m *Manager) claim(t *Timer) (unlock func(), err error) {
	unlock, _ = t.tryLock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timers[t.key] != nil {
		unlock()
		m.cfg.Systemd.Unfollow(t.key)
		return nil, fmt.Errorf("%w: %s", ErrTimerExists, t.key)
	}
	m.timers[t.key] = t
	return unlock, nil
}

// op runs fn on the timer under its operation lock, then publishes
// systemd's view of the outcome before returning, unless fn says it left
// that view fresh. reads: what fn may have changed. The outcome of a
// caller's operation is published as it is, never held back (settle.go).
func (m *Manager) op(ctx context.Context, key Key, reads Reads, fn func(t *Timer) (fresh bool, err error)) (Snapshot, error) {
	return m.runOp(ctx, key, reads, true, fn)
}

// housekeep is op for the daemon's own upkeep (following a file, reading
// back), whose reads may catch snapm midway: what it finds is held back
// as any outside change is.
func (m *Manager) housekeep(ctx context.Context, key Key, reads Reads, fn func(t *Timer) (fresh bool, err error)) (Snapshot, error) {
	return m.runOp(ctx, key, reads, false, fn)
}

func (m *Manager) runOp(ctx context.Context, key Key, reads Reads, final bool, fn func(t *Timer) (fresh bool, err error)) (Snapshot, error) {
	t, err := m.timer(key)
	if err != nil {
		return Snapshot{}, err
	}
	unlock, err := t.lock(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()
	t.mu.Lock()
	removed := t.removed
	t.mu.Unlock()
	if removed {
		return Snapshot{}, fmt.Errorf("%w: %s", ErrNoSuchTimer, key)
	}
	fresh, opErr := fn(t)
	if final {
		t.mu.Lock()
		t.settleNow()
		if fresh {
			t.publish(m.cfg.Observer)
		}
		t.mu.Unlock()
	}
	if !fresh {
		if err := m.refresh(ctx, t, reads); err != nil && opErr == nil {
			opErr = err
		}
	}
	return t.Snapshot(), opErr
}

// Enable writes the drop-in and enables the unit so that systemd runs the
// timer's schedule, also after a reboot.
func (m *Manager) Enable(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) { return m.enableMarked(ctx, t) })
}

// enableMarked is enable under a mark (see inflight.go), so that a crash
// between the drop-in and the enablement is finished at start-up; a call
// enable refuses changes nothing but the mark, made and removed.
// CreateWithFlags's enable needs none: its record's mark covers the whole
// call.
func (m *Manager) enableMarked(ctx context.Context, t *Timer) (fresh bool, err error) {
	// Nothing of the call may reach the disk before its mark.
	durable, err := m.store.begin(t.key, opEnable)
	if err == nil {
		err = durable()
	}
	if err != nil {
		return false, fmt.Errorf("enabling timer %s: %w", t.key.Unit(), err)
	}
	defer m.endMark(t, opEnable)
	return m.enable(ctx, t)
}

func (m *Manager) enable(ctx context.Context, t *Timer) (fresh bool, err error) {
	unit := t.key.Unit()
	t.mu.Lock()
	spec, cal, calErr, hadDropIn := t.spec, t.cal, t.calErr, t.dropIn
	t.mu.Unlock()
	if calErr != nil {
		return false, fmt.Errorf("cannot enable timer %s: %w", unit, calErr)
	}
	if err := t.refuseMasked(); err != nil {
		return false, err
	}
	syncDropIn, err := dropin.Install(m.cfg.UnitDir, unit, spec)
	if err != nil {
		return false, fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, err)
	}
	crashpoint.Hit(crashpoint.EnableDropInWritten)
	// What systemd has loaded is read beside the enabling, which does not
	// change it; the drop-in it is compared with is in place.
	read := m.readAhead(ctx, t, ReadUnit)
	// systemd enables the unit file while the drop-in's directory entries
	// reach the disk: neither needs the other, and each takes about a
	// millisecond. EnableUnitFiles goes out from this goroutine, at once,
	// and the syncs run in a new one: on two processors, a call sent from
	// a new goroutine waits for a processor behind the syncs.
	synced := make(chan error, 1)
	go func() { synced <- syncDropIn() }()
	err = m.cfg.Systemd.EnableUnit(ctx, unit)
	if syncErr := <-synced; syncErr != nil {
		err = errors.Join(fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, syncErr), err)
	}
	loaded := <-read
	if err == nil {
		crashpoint.Hit(crashpoint.EnableUnitEnabled)
		// The new symlink is in /etc/systemd/system, which systemd looks at
		// before anything else when it computes the state: "enabled" (a
		// masked unit fails EnableUnitFiles). No need to have it walk every
		// .wants directory to say so.
		t.setEnabled()
		fresh, err = m.syncConfig(ctx, t, cal.Normalized, loaded)
	}
	if err != nil && !hadDropIn {
		// Leave no half-enabled timer behind: the caller sees the error
		// and the timer stays as it was.
		m.undoEnable(ctx, t)
		fresh = true
	}
	if err != nil {
		return fresh, fmt.Errorf("enabling timer %s: %w", unit, err)
	}
	crashpoint.Hit(crashpoint.EnableSynced)
	t.log.Info("timer enabled", zap.String("calendar", spec))
	return fresh, nil
}

func (m *Manager) undoEnable(ctx context.Context, t *Timer) {
	unit := t.key.Unit()
	if err := m.cfg.Systemd.DisableUnit(ctx, unit); err != nil {
		t.log.Warn("rolling back enable: disabling unit file", zap.Error(err))
	}
	if err := dropin.Remove(m.cfg.UnitDir, unit); err != nil {
		t.log.Warn("rolling back enable: removing drop-in", zap.Error(err))
	}
	if err := m.refresh(ctx, t, ReadAll); err != nil {
		t.log.Warn("rolling back enable: reading the outcome", zap.Error(err))
	}
}

// syncConfig publishes systemd's view of t, read after the drop-in was
// written, and makes its loaded configuration match the drop-in, with a
// daemon-reload only when it does not already. fresh: no reload came after
// the read, so t's published state is current.
func (m *Manager) syncConfig(ctx context.Context, t *Timer, normalized string, r systemdRead) (fresh bool, err error) {
	if err := m.apply(t, r); err != nil {
		return false, err
	}
	t.mu.Lock()
	st := t.unit
	t.mu.Unlock()
	if !st.loaded() {
		return true, nil // systemd reads the files afresh when it next loads it
	}
	if !st.NeedDaemonReload && slices.Equal(st.Calendars, []string{normalized}) {
		return true, nil
	}
	t.log.Debug("systemd's loaded configuration is stale, reloading",
		zap.Strings("loaded_calendars", st.Calendars), zap.Bool("need_daemon_reload", st.NeedDaemonReload))
	return false, m.cfg.Systemd.Reload(ctx)
}

// Start starts an enabled timer and waits for systemd's job to finish.
func (m *Manager) Start(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		err := m.start(ctx, t)
		return err == nil, err
	})
}

// start starts t and publishes the outcome; the caller holds t's operation
// lock.
func (m *Manager) start(ctx context.Context, t *Timer) error {
	unit := t.key.Unit()
	// The drop-in is looked at on disk, where a hand could have removed
	// it; the unit file state is current (our Enable and Disable read it,
	// anyone else's change makes systemd say UnitFilesChanged).
	_, dropIn, err := dropin.Read(m.cfg.UnitDir, unit)
	if err != nil {
		return fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, err)
	}
	if err := t.refuseMasked(); err != nil {
		return err
	}
	// Not the derived status: a failed timer that is configured must be
	// startable, that is how it recovers.
	t.mu.Lock()
	configured := dropIn && t.unit.UnitFileState == "enabled"
	t.mu.Unlock()
	if !configured {
		return fmt.Errorf("cannot start timer %s: %w (call Enable first)", unit, ErrNotEnabled)
	}
	if err := m.cfg.Systemd.StartUnit(ctx, unit); err != nil {
		return fmt.Errorf("starting timer %s: %w", unit, err)
	}
	t.log.Info("timer started")
	// Nothing to read back: systemd sends the unit's PropertiesChanged
	// before the JobRemoved that ended the wait, and they have been
	// applied in order. LoadState is never signalled, but systemd starts
	// only loaded units: no read is owed for it.
	t.mu.Lock()
	t.unit.LoadState = "loaded"
	t.owed &^= readLoadState
	t.publish(m.cfg.Observer)
	t.mu.Unlock()
	return nil
}

// Stop stops the timer; it stays enabled.
func (m *Manager) Stop(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		unit := t.key.Unit()
		if err := m.cfg.Systemd.StopUnit(ctx, unit); err != nil {
			return false, fmt.Errorf("stopping timer %s: %w", unit, err)
		}
		t.log.Info("timer stopped")
		return true, nil // as for Start, the signals told it all
	})
}

// Disable stops the timer, disables its unit file and removes the drop-in;
// the drop-in goes even when systemd fails, so the schedule cannot come
// back by itself at the next boot.
func (m *Manager) Disable(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadAll, func(t *Timer) (bool, error) { return false, m.disable(ctx, t) })
}

// disable is Disable under t's operation lock, marked (see inflight.go) so
// that a crash between the disabling and the drop-in's removal is
// finished at start-up.
func (m *Manager) disable(ctx context.Context, t *Timer) error {
	unit := t.key.Unit()
	t.mu.Lock()
	loaded := t.unit.loaded()
	t.mu.Unlock()
	durable, err := m.store.begin(t.key, opDisable)
	if err != nil {
		return fmt.Errorf("disabling timer %s: %w", unit, err)
	}
	defer m.endMark(t, opDisable)
	// The mark reaches the disk while systemd stops the timer, which
	// leaves it configured; it is there before the disabling, the first
	// step that leaves the timer halfway. The sync runs in a new goroutine
	// for the reason enable's syncs do.
	marked := make(chan error, 1)
	go func() { marked <- durable() }()
	// Disabling goes ahead even if stopping failed: the schedule must not
	// come back at the next boot.
	stopErr := m.cfg.Systemd.StopUnit(ctx, unit)
	if err := <-marked; err != nil {
		return fmt.Errorf("disabling timer %s: %w", unit, errors.Join(stopErr, err))
	}
	crashpoint.Hit(crashpoint.DisableStopped)
	sdErr := errors.Join(stopErr, m.cfg.Systemd.DisableUnit(ctx, unit))
	crashpoint.Hit(crashpoint.DisableUnitDisabled)
	if err := dropin.Remove(m.cfg.UnitDir, unit); err != nil {
		return errors.Join(sdErr, fmt.Errorf("%w: removing drop-in of %s: %w", ErrIO, unit, err))
	}
	// The timer's state in memory is left as it was until the operation
	// reads it all back: the drop-in gone and the unit still enabled, say,
	// would be an invalid timer to whoever published it meanwhile.
	crashpoint.Hit(crashpoint.DisableDropInGone)
	if loaded && sdErr == nil {
		// snapm counts a unit systemd has loaded, even stopped and
		// disabled, as enabled; its own disable reloads, which unloads it.
		sdErr = m.cfg.Systemd.Reload(ctx)
	}
	if sdErr != nil {
		return fmt.Errorf("disabling timer %s: %w", unit, sdErr)
	}
	t.log.Info("timer disabled")
	return nil
}

// remove disables the timer if needed and forgets it.
func (m *Manager) remove(ctx context.Context, key Key) error {
	_, err := m.op(ctx, key, ReadAll, func(t *Timer) (bool, error) {
		if err := m.discard(ctx, t); err != nil {
			return false, err
		}
		return true, nil // gone: nothing left to publish
	})
	return err
}

// discard disables t if needed and forgets it everywhere; the caller holds
// t's operation lock.
func (m *Manager) discard(ctx context.Context, t *Timer) error {
	if t.Snapshot().Status != StatusDisabled {
		if err := m.disable(ctx, t); err != nil {
			return err
		}
	}
	return m.forget(t)
}

// forget removes what is left of t, a disabled timer, and withdraws it;
// the caller holds t's operation lock.
func (m *Manager) forget(t *Timer) error {
	key := t.key
	// The directory Create made, if the timer never had a drop-in, goes
	// before the record: nothing else brings the directory back to mind,
	// and a crash between the two leaves the record, which start-up either
	// takes as a disabled timer (Enable makes the directory again) or
	// forgets with the rest.
	if err := dropin.RemoveDir(m.cfg.UnitDir, key.Unit()); err != nil {
		t.log.Warn("removing the empty drop-in directory, ignoring", zap.Error(err))
	}
	// The key stays taken until the timer is gone everywhere: a Create of
	// the same name in between would see its record removed and its object
	// withdrawn.
	if err := m.store.remove(key); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.RemoveRecordGone)
	t.mu.Lock()
	t.removed = true
	if t.announced {
		m.cfg.Observer.TimerRemoved(t.snap)
	}
	t.mu.Unlock()
	m.mu.Lock()
	delete(m.timers, key)
	m.mu.Unlock()
	m.cfg.Systemd.Unfollow(key)
	t.log.Info("timer removed")
	return nil
}
