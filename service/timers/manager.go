package timers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/crashpoint"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/unitfiles"
)

// Systemd is what the domain needs from org.freedesktop.systemd1. Methods
// that start a job return once systemd reports the job's result.
type Systemd interface {
	// EnableUnit enables unit's unit file.
	EnableUnit(ctx context.Context, unit string) error
	DisableUnit(ctx context.Context, unit string) error
	StartUnit(ctx context.Context, unit string) error
	StopUnit(ctx context.Context, unit string) error
	// Reload is a daemon-reload; concurrent callers share one.
	Reload(ctx context.Context) error
	// UnitState reads systemd's view of unit, all but UnitFileState; seq
	// orders it against the signals delivered to Events.UnitChanged.
	UnitState(ctx context.Context, unit string) (state UnitState, seq uint64, err error)
	// UnitFileState reads the unit file state from disk, as systemd
	// computes it now.
	UnitFileState(ctx context.Context, unit string) (string, error)
	// LoadedUnits reads the runtime state (LoadState, ActiveState,
	// SubState) of every loaded unit matching patterns, in one call.
	LoadedUnits(ctx context.Context, patterns []string) (states map[string]UnitState, seq uint64, err error)
}

// Calendar validates expressions and computes their elapses.
type Calendar interface {
	Parse(spec string, now time.Time) (calendar.Info, error)
	Elapses(spec string, now time.Time, n int) (normalized string, next []uint64, err error)
}

// Observer hears about every visible change, in order per timer. It is
// called with the timer's state lock held, so its view never goes backwards;
// it must not call back into the Manager.
type Observer interface {
	TimerAdded(s Snapshot)
	TimerChanged(old, new Snapshot)
	TimerRemoved(s Snapshot)
}

// Config wires a Manager.
type Config struct {
	Systemd  Systemd
	Calendar Calendar
	Observer Observer
	Log      *zap.Logger
	// UnitDir is where drop-ins go (/etc/systemd/system).
	UnitDir string
	// RuntimeUnitDir is systemd's runtime configuration
	// (/run/systemd/system), where runtime enablement and masks live.
	RuntimeUnitDir string
	// StateDir keeps timers that exist only in this service (not enabled).
	StateDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Manager owns every timer.
type Manager struct {
	cfg   Config
	log   *zap.Logger
	store *store
	// refreshAll coalesces bursts of "everything may have changed" events;
	// resyncReads says what the next pass reads.
	refreshAll  chan struct{}
	resyncMu    sync.Mutex
	resyncReads Reads
	// calendarChanged wakes the keeper of next elapses early.
	calendarChanged chan struct{}

	// resyncs counts re-reads of every timer, for the log and the
	// benchmarks.
	resyncs atomic.Uint64

	mu     sync.RWMutex
	timers map[Key]*Timer
}

// refreshParallelism bounds the reads a full resynchronization keeps in
// flight, so it cannot crowd out callers' operations.
const refreshParallelism = 8

// NewManager returns an empty manager; Adopt fills it from disk.
func NewManager(ctx context.Context, cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, log: cfg.Log, timers: map[Key]*Timer{},
		refreshAll: make(chan struct{}, 1), calendarChanged: make(chan struct{}, 1)}
	m.store = &store{dir: cfg.StateDir}
	go m.refresher(ctx)
	go m.keepElapsesCurrent(ctx)
	return m
}

// Adopt takes over every timer found on disk: the drop-ins snapm (ours or
// the Python one) wrote, and the timers this service persisted. Call it
// after subscribing to systemd's signals, so no change slips between the
// read and the subscription.
func (m *Manager) Adopt(ctx context.Context) error {
	specs := map[Key]string{}
	recs, err := m.store.load()
	if err != nil {
		return err
	}
	for _, r := range recs {
		key, err := parseKey(string(r.Type), r.Name)
		if err != nil {
			m.log.Warn("ignoring invalid timer in state file", zap.Error(err))
			continue
		}
		specs[key] = r.Spec
	}
	entries, err := dropin.Scan(m.cfg.UnitDir, "snapm-create@", "snapm-gc@")
	if err != nil {
		return fmt.Errorf("scanning %s: %w", m.cfg.UnitDir, err)
	}
	dropIns := map[Key]bool{}
	for _, e := range entries {
		key, ok := ParseUnit(e.Unit)
		if !ok {
			m.log.Warn("ignoring drop-in of a unit with an unsupported name", zap.String("unit", e.Unit))
			continue
		}
		specs[key] = e.Spec
		dropIns[key] = true
	}
	for key, spec := range specs {
		t := m.adoptedTimer(key, spec)
		t.dropIn = dropIns[key]
		m.mu.Lock()
		m.timers[key] = t
		m.mu.Unlock()
	}
	if err := m.readInBulk(ctx, ReadAll, entries); err != nil {
		return err
	}
	m.mu.RLock()
	for _, t := range m.timers {
		m.announce(t)
	}
	n := len(m.timers)
	m.mu.RUnlock()
	m.log.Info("adopted timers", zap.Int("timers", n), zap.Int("drop_ins", len(dropIns)))
	// What the bulk reads leave out (LastTrigger, systemd's own next
	// elapse and calendar) follows without holding up the name.
	go m.forEachParallel(ctx, func(t *Timer) {
		if !t.loaded() {
			return
		}
		if err := m.lockedRefresh(ctx, t, ReadUnit); err != nil && ctx.Err() == nil {
			m.log.Warn("reading systemd state of adopted timer", zap.Stringer("unit", t.key), zap.Error(err))
		}
	})
	return nil
}

// unitPatterns match every unit of ours.
var unitPatterns = []string{"snapm-create@*.timer", "snapm-gc@*.timer"}

// readInBulk re-reads what reads names for every timer with a constant
// number of systemd calls: one ListUnitsByPatterns for the runtime states
// and one pass over the enablement symlinks for the unit file states,
// where reading each timer costs up to three calls, one of which walks
// every .wants directory. Reading 10,000 timers one by one keeps systemd
// busy for minutes. The drop-ins are read again too: a timer whose drop-in
// changed on disk gets a full read of its own; entries are the drop-ins if
// the caller has just scanned them, nil to scan them here.
func (m *Manager) readInBulk(ctx context.Context, reads Reads, entries []dropin.Entry) error {
	var loaded map[string]UnitState
	var seq uint64
	var fileStates map[string]string
	m.mu.RLock()
	all := make([]*Timer, 0, len(m.timers))
	units := make([]string, 0, len(m.timers))
	for _, t := range m.timers {
		all = append(all, t)
		units = append(units, t.key.Unit())
	}
	m.mu.RUnlock()
	var err error
	if reads&ReadUnit != 0 {
		if loaded, seq, err = m.cfg.Systemd.LoadedUnits(ctx, unitPatterns); err != nil {
			return fmt.Errorf("listing loaded timer units: %w", err)
		}
	}
	if reads&ReadUnitFile != 0 {
		if fileStates, err = unitfiles.States(unitfiles.Dirs{Persistent: m.cfg.UnitDir, Runtime: m.cfg.RuntimeUnitDir}, units); err != nil {
			return fmt.Errorf("%w: reading unit file states: %w", ErrIO, err)
		}
	}
	if entries == nil {
		if entries, err = dropin.Scan(m.cfg.UnitDir, "snapm-create@", "snapm-gc@"); err != nil {
			return fmt.Errorf("%w: scanning drop-ins: %w", ErrIO, err)
		}
	}
	specs := make(map[string]string, len(entries))
	for _, e := range entries {
		specs[e.Unit] = e.Spec
	}
	// Timers busy with an operation are read on their own once it is
	// over: the operation may have changed them after the bulk reads.
	var readAlone []*Timer
	for _, t := range all {
		unlock, free := t.tryLock()
		if !free {
			readAlone = append(readAlone, t)
			continue
		}
		unit := t.key.Unit()
		fileState, known := fileStates[unit]
		if reads&ReadUnitFile != 0 && !known {
			// A unit file of its own: only systemd can tell.
			if fileState, err = m.cfg.Systemd.UnitFileState(ctx, unit); err != nil {
				m.log.Warn("reading unit file state", zap.String("unit", unit), zap.Error(err))
			}
			known = err == nil
		}
		spec, dropIn := specs[unit]
		t.mu.Lock()
		if reads&ReadUnit != 0 {
			st := loaded[unit]
			if st.loaded() {
				// What the list leaves out stays as last read or signalled;
				// a fresh load or a reload has caught up with the disk.
				st.NextElapse, st.LastTrigger, st.Calendars = t.unit.NextElapse, t.unit.LastTrigger, t.unit.Calendars
				if st.active() && st.NextElapse == 0 {
					// The engine's next elapse is systemd's (the differential
					// tests hold it to that) until systemd's own is read.
					st.NextElapse = t.cal.Next
				}
			}
			t.applyRead(st, seq)
		}
		if known {
			t.unit.UnitFileState = fileState
		}
		changedOnDisk := dropIn != t.dropIn || (dropIn && spec != t.spec)
		if !t.removed {
			t.publish(m.cfg.Observer)
		}
		t.mu.Unlock()
		var refreshErr error
		if changedOnDisk {
			refreshErr = m.refresh(ctx, t, ReadAll)
		}
		unlock()
		if refreshErr != nil && ctx.Err() == nil {
			m.log.Warn("reading timer whose drop-in changed", zap.Stringer("unit", t.key), zap.Error(refreshErr))
		}
	}
	for _, t := range readAlone {
		if err := m.lockedRefresh(ctx, t, reads); err != nil && ctx.Err() == nil {
			m.log.Warn("reading timer", zap.Stringer("unit", t.key), zap.Error(err))
		}
	}
	return nil
}

// Get returns the timer's state.
func (m *Manager) Get(typ, name string) (Snapshot, error) {
	key, err := parseKey(typ, name)
	if err != nil {
		return Snapshot{}, err
	}
	t, err := m.timer(key)
	if err != nil {
		return Snapshot{}, err
	}
	return t.Snapshot(), nil
}

// List returns every timer's state, sorted by unit name.
func (m *Manager) List() []Snapshot {
	m.mu.RLock()
	out := make([]Snapshot, 0, len(m.timers))
	for _, t := range m.timers {
		out = append(out, t.Snapshot())
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Snapshot) int { return strings.Compare(a.Unit(), b.Unit()) })
	return out
}

func parseKey(typ, name string) (Key, error) {
	t, err := ParseType(typ)
	if err != nil {
		return Key{}, err
	}
	if err := ValidateName(name); err != nil {
		return Key{}, err
	}
	return Key{Type: t, Name: name}, nil
}

func (m *Manager) timer(key Key) (*Timer, error) {
	m.mu.RLock()
	t := m.timers[key]
	m.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchTimer, key)
	}
	return t, nil
}

func (m *Manager) parseCalendar(spec string) (calendar.Info, error) {
	// Control characters are refused before any parser sees them.
	if err := calendar.CheckText(spec); err != nil {
		return calendar.Info{}, err
	}
	return m.cfg.Calendar.Parse(spec, m.cfg.Now())
}

// ParseCalendar is the preview frontends show while a user types: the
// normalized form and the next n elapses from now (none if it never
// elapses). It changes nothing.
func (m *Manager) ParseCalendar(spec string, n uint32) (string, []uint64, error) {
	if n > calendar.MaxIterations {
		return "", nil, fmt.Errorf("%w: %d iterations asked for, at most %d", ErrInvalidArgument, n, calendar.MaxIterations)
	}
	if err := calendar.CheckText(spec); err != nil {
		return "", nil, err
	}
	normalized, next, err := m.cfg.Calendar.Elapses(spec, m.cfg.Now(), int(n))
	if next == nil {
		next = []uint64{}
	}
	return normalized, next, err
}

// CheckNew validates a would-be timer completely without creating it, so
// that authorization can run between validation and any change.
func (m *Manager) CheckNew(typ, name, spec string) (Key, error) {
	key, err := parseKey(typ, name)
	if err != nil {
		return Key{}, err
	}
	if _, err := m.parseCalendar(spec); err != nil {
		return Key{}, fmt.Errorf("timer %s: %w", key, err)
	}
	return key, nil
}

// Create makes a new, disabled timer. Nothing is written to systemd.
func (m *Manager) Create(ctx context.Context, typ, name, spec string) (Snapshot, error) {
	key, err := parseKey(typ, name)
	if err != nil {
		return Snapshot{}, err
	}
	cal, err := m.parseCalendar(spec)
	if err != nil {
		return Snapshot{}, fmt.Errorf("timer %s: %w", key, err)
	}
	if diskSpec, present, err := dropin.Read(m.cfg.UnitDir, key.Unit()); err == nil && present {
		// Configured on disk behind our back (say, by the Python snapm):
		// take it over as it is, and say that it exists.
		if _, err := m.insert(ctx, m.adoptedTimer(key, diskSpec)); err != nil {
			return Snapshot{}, err
		}
		return Snapshot{}, fmt.Errorf("%w: %s is already configured on disk (with %q), and is now managed here", ErrTimerExists, key, diskSpec)
	}
	return m.insert(ctx, newTimer(key, spec, cal, nil))
}

// adoptedTimer makes a timer for a spec found on disk, which may be one
// we would refuse from a caller: it is kept as it is, and its calendar
// error is logged and shown (status, Normalized) rather than hidden.
func (m *Manager) adoptedTimer(key Key, spec string) *Timer {
	cal, calErr := m.cfg.Calendar.Parse(spec, m.cfg.Now())
	if calErr != nil {
		m.log.Warn("adopted timer has an invalid calendar expression", zap.Stringer("unit", key), zap.Error(calErr))
	}
	return newTimer(key, spec, cal, calErr)
}

// insert publishes a new timer and makes it durable.
func (m *Manager) insert(ctx context.Context, t *Timer) (Snapshot, error) {
	key := t.key
	unlock, _ := t.lock(ctx) // new, so free: keeps callers off it until it is complete
	defer unlock()
	m.mu.Lock()
	if m.timers[key] != nil {
		m.mu.Unlock()
		return Snapshot{}, fmt.Errorf("%w: %s", ErrTimerExists, key)
	}
	m.timers[key] = t
	m.mu.Unlock()

	if err := m.store.put(record{Type: key.Type, Name: key.Name, Spec: t.spec}); err != nil {
		m.mu.Lock()
		delete(m.timers, key)
		m.mu.Unlock()
		return Snapshot{}, err
	}
	m.announce(t)
	m.pokeElapses()
	// The unit may already be known to systemd (say, enabled by hand); the
	// status must say so from the start.
	if err := m.refresh(ctx, t, ReadAll); err != nil {
		m.log.Warn("reading systemd state of new timer", zap.Stringer("unit", key), zap.Error(err))
	}
	return t.Snapshot(), nil
}

// op runs fn on the timer under its operation lock, then publishes
// systemd's view of the outcome before returning, unless fn says it left
// that view fresh. reads: what fn may have changed.
func (m *Manager) op(ctx context.Context, key Key, reads Reads, fn func(t *Timer) (fresh bool, err error)) (Snapshot, error) {
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
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) { return m.enable(ctx, t) })
}

func (m *Manager) enable(ctx context.Context, t *Timer) (fresh bool, err error) {
	unit := t.key.Unit()
	t.mu.Lock()
	spec, cal, calErr, hadDropIn := t.spec, t.cal, t.calErr, t.dropIn
	t.mu.Unlock()
	if calErr != nil {
		return false, fmt.Errorf("cannot enable timer %s: %w", unit, calErr)
	}
	syncDropIn, err := dropin.Install(m.cfg.UnitDir, unit, spec)
	if err != nil {
		return false, fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, err)
	}
	t.setDropIn(true)
	// systemd enables the unit file while the drop-in's directory entries
	// reach the disk: neither needs the other, and each takes about a
	// millisecond.
	enabled := make(chan error, 1)
	go func() { enabled <- m.cfg.Systemd.EnableUnit(ctx, unit) }()
	if syncErr := syncDropIn(); syncErr != nil {
		err = fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, syncErr)
	}
	crashpoint.Hit(crashpoint.EnableDropInWritten)
	err = errors.Join(err, <-enabled)
	if err == nil {
		crashpoint.Hit(crashpoint.EnableUnitEnabled)
		// The new symlink is in /etc/systemd/system, which systemd looks at
		// before anything else when it computes the state: "enabled" (a
		// masked unit fails EnableUnitFiles). No need to have it walk every
		// .wants directory to say so.
		t.setUnitFileState("enabled")
		fresh, err = m.syncConfig(ctx, t, cal.Normalized, ReadUnit)
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
	m.log.Info("timer enabled", zap.String("unit", unit), zap.String("calendar", spec))
	return fresh, nil
}

func (m *Manager) undoEnable(ctx context.Context, t *Timer) {
	unit := t.key.Unit()
	if err := m.cfg.Systemd.DisableUnit(ctx, unit); err != nil {
		m.log.Warn("rolling back enable: disabling unit file", zap.String("unit", unit), zap.Error(err))
	}
	if err := dropin.Remove(m.cfg.UnitDir, unit); err != nil {
		m.log.Warn("rolling back enable: removing drop-in", zap.String("unit", unit), zap.Error(err))
	}
	if err := m.refresh(ctx, t, ReadAll); err != nil {
		m.log.Warn("rolling back enable: reading the outcome", zap.String("unit", unit), zap.Error(err))
	}
}

// syncConfig reads systemd's view of t and makes its loaded configuration
// match the drop-in, with a daemon-reload only when it does not already.
// fresh: no reload came after the read, so t's published state is current.
func (m *Manager) syncConfig(ctx context.Context, t *Timer, normalized string, reads Reads) (fresh bool, err error) {
	if err := m.refresh(ctx, t, reads); err != nil {
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
	m.log.Debug("systemd's loaded configuration is stale, reloading", zap.String("unit", t.key.Unit()),
		zap.Strings("loaded_calendars", st.Calendars), zap.Bool("need_daemon_reload", st.NeedDaemonReload))
	return false, m.cfg.Systemd.Reload(ctx)
}

// Start starts an enabled timer and waits for systemd's job to finish.
func (m *Manager) Start(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		unit := t.key.Unit()
		// The drop-in is looked at on disk, where a hand could have removed
		// it; the unit file state is current (our Enable and Disable read
		// it, anyone else's change makes systemd say UnitFilesChanged).
		_, dropIn, err := dropin.Read(m.cfg.UnitDir, unit)
		if err != nil {
			return false, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, err)
		}
		// Not the derived status: a failed timer that is configured must
		// be startable, that is how it recovers.
		t.mu.Lock()
		configured := dropIn && t.unit.UnitFileState == "enabled"
		t.mu.Unlock()
		if !configured {
			return false, fmt.Errorf("cannot start timer %s: %w (call Enable first)", unit, ErrNotEnabled)
		}
		if err := m.cfg.Systemd.StartUnit(ctx, unit); err != nil {
			return false, fmt.Errorf("starting timer %s: %w", unit, err)
		}
		m.log.Info("timer started", zap.String("unit", unit))
		// Nothing to read back: systemd sends the unit's PropertiesChanged
		// before the JobRemoved that ended the wait, and they have been
		// applied in order. LoadState is never signalled, but systemd
		// starts only loaded units.
		t.mu.Lock()
		t.unit.LoadState = "loaded"
		t.publish(m.cfg.Observer)
		t.mu.Unlock()
		return true, nil
	})
}

// Stop stops the timer; it stays enabled.
func (m *Manager) Stop(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		unit := t.key.Unit()
		if err := m.cfg.Systemd.StopUnit(ctx, unit); err != nil {
			return false, fmt.Errorf("stopping timer %s: %w", unit, err)
		}
		m.log.Info("timer stopped", zap.String("unit", unit))
		return true, nil // as for Start, the signals told it all
	})
}

// Disable stops the timer, disables its unit file and removes the drop-in;
// the drop-in goes even when systemd fails, so the schedule cannot come
// back by itself at the next boot.
func (m *Manager) Disable(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, ReadAll, func(t *Timer) (bool, error) { return false, m.disable(ctx, t) })
}

func (m *Manager) disable(ctx context.Context, t *Timer) error {
	unit := t.key.Unit()
	// Disabling goes ahead even if stopping failed: the schedule must not
	// come back at the next boot.
	stopErr := m.cfg.Systemd.StopUnit(ctx, unit)
	crashpoint.Hit(crashpoint.DisableStopped)
	sdErr := errors.Join(stopErr, m.cfg.Systemd.DisableUnit(ctx, unit))
	crashpoint.Hit(crashpoint.DisableUnitDisabled)
	if err := dropin.Remove(m.cfg.UnitDir, unit); err != nil {
		return errors.Join(sdErr, fmt.Errorf("%w: removing drop-in of %s: %w", ErrIO, unit, err))
	}
	t.setDropIn(false)
	// No daemon-reload for the drop-in that went: the unit is stopped and
	// disabled, and the next Enable reloads if systemd still has it loaded.
	crashpoint.Hit(crashpoint.DisableDropInGone)
	if sdErr != nil {
		return fmt.Errorf("disabling timer %s: %w", unit, sdErr)
	}
	m.log.Info("timer disabled", zap.String("unit", unit))
	return nil
}

// SetCalendarSpec changes the schedule. An enabled timer gets the new
// drop-in at once and systemd takes it; a running one keeps running.
func (m *Manager) SetCalendarSpec(ctx context.Context, key Key, spec string) (Snapshot, error) {
	cal, err := m.parseCalendar(spec)
	if err != nil {
		return Snapshot{}, fmt.Errorf("timer %s: %w", key, err)
	}
	return m.op(ctx, key, ReadUnit, func(t *Timer) (bool, error) {
		unit := t.key.Unit()
		t.mu.Lock()
		oldSpec, oldCal, oldErr, dropIn := t.spec, t.cal, t.calErr, t.dropIn
		t.mu.Unlock()
		if dropIn {
			if err := dropin.Write(m.cfg.UnitDir, unit, spec); err != nil {
				return false, fmt.Errorf("%w: writing drop-in of %s: %w", ErrIO, unit, err)
			}
		}
		t.setCalendar(spec, cal, nil)
		if err := m.store.put(record{Type: key.Type, Name: key.Name, Spec: spec}); err != nil {
			t.setCalendar(oldSpec, oldCal, oldErr)
			if dropIn {
				if rerr := dropin.Write(m.cfg.UnitDir, unit, oldSpec); rerr != nil {
					m.log.Error("restoring drop-in after failed state save", zap.String("unit", unit), zap.Error(rerr))
				}
			}
			return false, err
		}
		m.pokeElapses()
		fresh := false
		if dropIn {
			if fresh, err = m.syncConfig(ctx, t, cal.Normalized, ReadUnit); err != nil {
				return false, fmt.Errorf("reloading timer %s: %w", unit, err)
			}
		}
		m.log.Info("timer calendar changed", zap.String("unit", unit), zap.String("calendar", spec))
		return fresh, nil
	})
}

// Remove disables the timer if needed and forgets it.
func (m *Manager) Remove(ctx context.Context, key Key) error {
	_, err := m.op(ctx, key, ReadAll, func(t *Timer) (bool, error) {
		s := t.Snapshot()
		if s.Status != StatusDisabled {
			if err := m.disable(ctx, t); err != nil {
				return false, err
			}
		}
		m.mu.Lock()
		delete(m.timers, key)
		m.mu.Unlock()
		if err := m.store.remove(key); err != nil {
			m.mu.Lock()
			m.timers[key] = t
			m.mu.Unlock()
			return false, err
		}
		t.mu.Lock()
		t.removed = true
		m.cfg.Observer.TimerRemoved(t.snap)
		t.mu.Unlock()
		m.log.Info("timer removed", zap.String("unit", key.Unit()))
		return true, nil // gone: nothing left to publish
	})
	return err
}

// Reads says what a refresh re-reads of systemd's view.
type Reads uint8

// ReadUnit is the runtime state (GetUnit and GetAll); ReadUnitFile the
// unit file state, which systemd computes from the disk on each call: it
// costs more than the rest together and grows with the number of enabled
// units, and it changes only through Enable and Disable (which read it) or
// an outside change of unit files (which resyncs it).
const (
	ReadUnit Reads = 1 << iota
	ReadUnitFile
	ReadAll = ReadUnit | ReadUnitFile
)

// refresh reads systemd's and the disk's view of t and publishes it. The
// caller holds t's operation lock, so our own writes cannot race the read
// of the drop-in.
func (m *Manager) refresh(ctx context.Context, t *Timer, reads Reads) error {
	unit := t.key.Unit()
	// What is not read, or systemd fails to tell, keeps its last known
	// value; the rest is still worth publishing (a drop-in that went, say).
	var st UnitState
	var seq uint64
	var sdErr error
	if reads&ReadUnit != 0 {
		if st, seq, sdErr = m.cfg.Systemd.UnitState(ctx, unit); sdErr != nil {
			sdErr = fmt.Errorf("reading state of %s: %w", unit, sdErr)
		}
	}
	fileStateNow := t.unitFileState()
	if reads&ReadUnitFile != 0 {
		if state, err := m.cfg.Systemd.UnitFileState(ctx, unit); err == nil {
			fileStateNow = state
		} else {
			sdErr = errors.Join(sdErr, fmt.Errorf("reading unit file state of %s: %w", unit, err))
		}
	}
	spec, dropIn, err := dropin.Read(m.cfg.UnitDir, unit)
	if err != nil {
		return errors.Join(sdErr, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, err))
	}
	t.mu.Lock()
	t.dropIn = dropIn
	edited := dropIn && spec != t.spec
	if edited {
		// Someone changed the drop-in by hand; it is what systemd runs.
		t.spec = spec
		t.cal, t.calErr = m.cfg.Calendar.Parse(spec, m.cfg.Now())
		m.log.Info("drop-in changed outside the service", zap.String("unit", unit), zap.String("calendar", spec), zap.Error(t.calErr))
	}
	t.applyRead(st, seq)
	t.unit.UnitFileState = fileStateNow
	if sd := t.systemdCalendar(); sd != "" && t.calErr == nil && sd != t.cal.Normalized {
		m.log.Warn("systemd normalizes the calendar expression differently; systemd's form is shown",
			zap.String("unit", unit), zap.String("systemd", sd), zap.String("engine", t.cal.Normalized))
	}
	// Only while systemd runs the schedule we have: syncConfig publishes
	// its view once before the daemon-reload that brings a new one.
	if t.unit.active() && t.systemdCalendar() == t.cal.Normalized && t.unit.NextElapse != 0 && t.cal.Next != 0 && t.unit.NextElapse != t.cal.Next {
		m.log.Warn("systemd's next elapse differs from the engine's; systemd's is shown", zap.String("unit", unit),
			zap.Uint64("systemd_usec", t.unit.NextElapse), zap.Uint64("engine_usec", t.cal.Next))
	}
	removed := t.removed
	if !removed {
		t.publish(m.cfg.Observer)
	}
	t.mu.Unlock()
	if edited && !removed {
		m.pokeElapses()
		return errors.Join(sdErr, m.store.put(record{Type: t.key.Type, Name: t.key.Name, Spec: spec}))
	}
	return sdErr
}

// lockedRefresh is refresh for callers that do not hold the operation
// lock: adoption and resynchronization.
func (m *Manager) lockedRefresh(ctx context.Context, t *Timer, reads Reads) error {
	unlock, err := t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return m.refresh(ctx, t, reads)
}

// applyRead takes a read of systemd's runtime view made at seq; t.mu held.
func (t *Timer) applyRead(st UnitState, seq uint64) {
	fileState := t.unit.UnitFileState
	switch {
	case seq == 0: // dbus.NoSequence: not read, or the read failed
	case seq >= t.seq:
		t.unit, t.seq = st, seq
	default:
		// A signal newer than this read was applied meanwhile. Keep its
		// values, and take from the read only what systemd never signals.
		t.unit.NeedDaemonReload = st.NeedDaemonReload
	}
	t.unit.UnitFileState = fileState
}

func (t *Timer) loaded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unit.loaded()
}

func (t *Timer) setUnitFileState(state string) {
	t.mu.Lock()
	t.unit.UnitFileState = state
	t.mu.Unlock()
}

func (t *Timer) unitFileState() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unit.UnitFileState
}

func (t *Timer) setDropIn(present bool) {
	t.mu.Lock()
	t.dropIn = present
	t.mu.Unlock()
}

// setCalendar changes the schedule in memory; op publishes it with the rest.
func (t *Timer) setCalendar(spec string, cal calendar.Info, calErr error) {
	t.mu.Lock()
	t.spec, t.cal, t.calErr = spec, cal, calErr
	t.mu.Unlock()
}

// maxElapseSleep bounds how long the keeper trusts the clock: a wall
// clock change moves elapses without telling anyone.
const maxElapseSleep = time.Hour

func (m *Manager) pokeElapses() {
	select {
	case m.calendarChanged <- struct{}{}:
	default:
	}
}

// keepElapsesCurrent moves each timer's NextElapse on when it passes (and
// publishes it), sleeping until the earliest one.
func (m *Manager) keepElapsesCurrent(ctx context.Context) {
	timer := time.NewTimer(maxElapseSleep)
	defer timer.Stop()
	for {
		timer.Reset(m.advanceElapses())
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.calendarChanged:
		}
	}
}

// advanceElapses recomputes the next elapse of every timer whose next
// elapse has passed and returns how long until the earliest one.
func (m *Manager) advanceElapses() time.Duration {
	now := m.cfg.Now()
	nowUsec := uint64(now.UnixMicro())
	earliest := uint64(0)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, t := range m.timers {
		t.mu.Lock()
		if t.calErr == nil && t.cal.Next != 0 && t.cal.Next <= nowUsec {
			if cal, err := m.cfg.Calendar.Parse(t.spec, now); err == nil {
				t.cal = cal
				t.publish(m.cfg.Observer)
			}
		}
		if t.cal.Next != 0 && (earliest == 0 || t.cal.Next < earliest) {
			earliest = t.cal.Next
		}
		t.mu.Unlock()
	}
	if earliest == 0 {
		return maxElapseSleep
	}
	if earliest <= nowUsec {
		return time.Second // the engine could not move it on; try again soon
	}
	return min(time.Duration(earliest-nowUsec+1)*time.Microsecond, maxElapseSleep)
}

func (m *Manager) announce(t *Timer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.announced = true
	m.cfg.Observer.TimerAdded(t.snap)
}

// publish recomputes the snapshot and reports a real change; t.mu held.
func (t *Timer) publish(obs Observer) {
	s := t.derive()
	if s == t.snap {
		return
	}
	old := t.snap
	t.snap = s
	if t.announced {
		obs.TimerChanged(old, s)
	}
}

// UnitChanged applies a change systemd signalled for unit (seq orders it
// against reads); apply sets the changed fields.
func (m *Manager) UnitChanged(unit string, seq uint64, apply func(*UnitState)) {
	key, ok := ParseUnit(unit)
	if !ok {
		return
	}
	m.mu.RLock()
	t := m.timers[key]
	m.mu.RUnlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq <= t.seq || t.removed {
		return
	}
	apply(&t.unit)
	t.seq = seq
	t.publish(m.cfg.Observer)
}

// Resync asks for a re-read of every timer: of the units after a
// daemon-reload, of the unit files after someone else changed them, of
// both when systemd reconnects. Bursts share one pass.
func (m *Manager) Resync(reads Reads) {
	m.resyncMu.Lock()
	m.resyncReads |= reads
	m.resyncMu.Unlock()
	select {
	case m.refreshAll <- struct{}{}:
	default:
	}
}

// Resyncs counts the full re-reads done so far.
func (m *Manager) Resyncs() uint64 { return m.resyncs.Load() }

func (m *Manager) refresher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.refreshAll:
		}
		m.resyncMu.Lock()
		reads := m.resyncReads
		m.resyncReads = 0
		m.resyncMu.Unlock()
		m.resyncs.Add(1)
		if err := m.readInBulk(ctx, reads, nil); err != nil && ctx.Err() == nil {
			m.log.Warn("resynchronizing timers", zap.Error(err))
		}
	}
}

func (m *Manager) forEachParallel(ctx context.Context, fn func(t *Timer)) {
	m.mu.RLock()
	all := make([]*Timer, 0, len(m.timers))
	for _, t := range m.timers {
		all = append(all, t)
	}
	m.mu.RUnlock()
	sem := make(chan struct{}, refreshParallelism)
	var wg sync.WaitGroup
	for _, t := range all {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(t)
		}()
	}
	wg.Wait()
}
