// Package timers is the timer domain: each snapm schedule's state, the
// status table, per-timer serialization, reconciliation with systemd and
// the disk, and persistence. It knows nothing of D-Bus.
//
// This file: the ports (Systemd, Calendar, Observer), the Manager, its
// background work (Run) and its queries. Locks: Manager.mu guards the map
// of timers and is held only to read or change it; queries take each
// Timer.mu briefly to copy a snapshot.
package timers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/schedule"
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
	// QueueStart starts unit and returns once systemd has queued the job.
	QueueStart(ctx context.Context, unit string) error
	// ServiceState reads systemd's view of a service unit without loading
	// it; seq orders it against the signals delivered to ServiceChanged.
	ServiceState(ctx context.Context, unit string) (state RunState, seq uint64, err error)
	// Follow asks for the signals about key's timer and service, from
	// the next call on: a timer is followed from its making, before it is
	// first read. Each Follow is undone by one Unfollow.
	Follow(key Key)
	Unfollow(key Key)
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
	// Previews runs previews; nil runs them at once, unfairly.
	Previews Previews
	Observer Observer
	Log      *zap.Logger
	// UnitDir is where drop-ins go (/etc/systemd/system).
	UnitDir string
	// RuntimeUnitDir is systemd's runtime configuration
	// (/run/systemd/system), where runtime enablement and masks live.
	RuntimeUnitDir string
	// StateDir keeps timers that exist only in this service (not enabled).
	StateDir string
	// ScheduleDir is snapm's schedule directory (schedule.Dir): a timer
	// is made only for a schedule there, and the schedules are followed
	// from it.
	ScheduleDir string
	// Schedules hears about schedules coming, changing and going.
	Schedules ScheduleObserver
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SettleTime is how long an invalid state seen from outside is held
	// back before it is published (settle.go); zero means
	// DefaultSettleTime.
	SettleTime time.Duration
}

// ignoreSchedules is the ScheduleObserver of a Manager given none.
type ignoreSchedules struct{}

func (ignoreSchedules) ScheduleAdded(schedule.Schedule)   {}
func (ignoreSchedules) ScheduleChanged(schedule.Schedule) {}
func (ignoreSchedules) ScheduleRemoved(string)            {}

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
	// owing holds the timers that owe a re-read (Timer.owed) and are
	// waiting for the reader; owingMu guards it, owingWake wakes the
	// reader.
	owingMu   sync.Mutex
	owing     map[*Timer]struct{}
	owingWake chan struct{}

	// resyncs counts re-reads of every timer, for the log and the
	// benchmarks.
	resyncs atomic.Uint64
	// instances numbers the timers ever made (Snapshot.Instance).
	instances atomic.Uint64

	mu     sync.RWMutex
	timers map[Key]*Timer

	// schedMu guards scheds and their fields (see schedules.go).
	schedMu sync.Mutex
	scheds  map[string]*schedEntry
}

// refreshParallelism bounds the reads a full resynchronization keeps in
// flight, so it cannot crowd out callers' operations.
// Needed by: tests/bench rows "daemon start-up to name" and "daemon RSS after start-up".
const refreshParallelism = 8

// NewManager returns an empty manager; Adopt fills it from disk, Run keeps
// it current.
func NewManager(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SettleTime <= 0 {
		cfg.SettleTime = DefaultSettleTime
	}
	if cfg.Schedules == nil {
		cfg.Schedules = ignoreSchedules{}
	}
	return &Manager{cfg: cfg, log: cfg.Log, store: &store{dir: cfg.StateDir}, timers: map[Key]*Timer{}, scheds: map[string]*schedEntry{},
		refreshAll: make(chan struct{}, 1), calendarChanged: make(chan struct{}, 1),
		owing: map[*Timer]struct{}{}, owingWake: make(chan struct{}, 1)}
}

// Run does the manager's background work until ctx ends, and returns only
// once all of it has stopped: resynchronizations, re-reads owed by busy or
// half-known timers, and the keeping of next elapses.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){m.refresher, m.reader, m.keepElapsesCurrent} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
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
	s, ok := t.shown()
	if !ok {
		return Snapshot{}, fmt.Errorf("%w: %s", ErrNoSuchTimer, key)
	}
	return s, nil
}

// List returns every timer's state, sorted by unit name.
func (m *Manager) List() []Snapshot {
	m.mu.RLock()
	out := make([]Snapshot, 0, len(m.timers))
	for _, t := range m.timers {
		if s, ok := t.shown(); ok {
			out = append(out, s)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Snapshot) int { return compareUnits(a.Key, b.Key) })
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

// announce shows t, unless its state is held back (settle.go): then it is
// shown once that state is published.
func (m *Manager) announce(t *Timer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held() {
		t.pending = true
		return
	}
	t.announced = true
	m.cfg.Observer.TimerAdded(t.snap)
}
