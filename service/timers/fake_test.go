package timers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// This file: the fakes the domain is tested against. fakeSystemd keeps
// systemd's view in memory the way systemd 252 keeps it: a unit is loaded
// by a start and keeps the configuration it loaded (its drop-in, or the
// template's daily) until a reload; enablement is a symlink in the unit
// directory's timers.target.wants, as unitfiles reads it; job changes are
// signalled before the job returns.

// templateCalendar is the template's own OnCalendar=, which a timer
// without a drop-in runs.
const templateCalendar = "daily"

// epoch is the fixed clock of every test: Thursday 2026-01-01 10:30 UTC.
var epoch = time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type fakeUnit struct {
	loaded, active bool
	// loadedSpec is the drop-in's expression when the unit was loaded;
	// hadDropIn whether there was one.
	loadedSpec string
	hadDropIn  bool
}

type fakeSystemd struct {
	unitDir string
	cal     Calendar
	now     func() time.Time
	// events hears the job changes, as the systemd adapter's signal
	// intake would; set once the Manager exists.
	events interface {
		UnitChanged(unit string, seq uint64, apply func(*UnitState))
	}

	mu    sync.Mutex
	seq   uint64
	units map[string]*fakeUnit
	// fail makes the named method return its error.
	fail  map[string]error
	calls journal[string]
	// done, if set, runs as EnableUnit, DisableUnit or UnitState returns
	// (f.mu held): what the daemon may do meanwhile.
	done func(method string)
	// followed counts Follow less Unfollow, by key.
	followed map[Key]int
}

func (f *fakeSystemd) Follow(key Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.followed == nil {
		f.followed = map[Key]int{}
	}
	f.followed[key]++
}

func (f *fakeSystemd) Unfollow(key Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.followed[key]--; f.followed[key] == 0 {
		delete(f.followed, key)
	}
}

func newFakeSystemd(unitDir string, cal Calendar, now func() time.Time) *fakeSystemd {
	return &fakeSystemd{unitDir: unitDir, cal: cal, now: now, units: map[string]*fakeUnit{}, fail: map[string]error{}}
}

// errInjected is what a failing fake method returns.
var errInjected = errors.New("injected failure")

// enter records a call and says whether it fails; f.mu held.
func (f *fakeSystemd) enter(method, unit string) error {
	f.calls.add(method + " " + unit)
	return f.fail[method]
}

func (f *fakeSystemd) unit(name string) *fakeUnit {
	u := f.units[name]
	if u == nil {
		u = &fakeUnit{}
		f.units[name] = u
	}
	return u
}

func (f *fakeSystemd) load(name string) {
	u := f.unit(name)
	spec, present, _ := dropin.Read(f.unitDir, name)
	u.loaded, u.loadedSpec, u.hadDropIn = true, spec, present
}

// state is what GetAll answers for a unit; f.mu held.
func (f *fakeSystemd) state(name string) UnitState {
	u := f.units[name]
	if u == nil || !u.loaded {
		return UnitState{}
	}
	spec := templateCalendar
	if u.hadDropIn {
		spec = u.loadedSpec
	}
	info, _ := f.cal.Parse(spec, f.now())
	st := UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Calendars: []string{info.Normalized}}
	if u.active {
		st.ActiveState, st.SubState, st.NextElapse = "active", "waiting", info.Next
	}
	diskSpec, onDisk, _ := dropin.Read(f.unitDir, name)
	st.NeedDaemonReload = onDisk != u.hadDropIn || diskSpec != u.loadedSpec
	return st
}

func (f *fakeSystemd) wantsLink(unit string) string {
	return filepath.Join(f.unitDir, "timers.target.wants", unit)
}

func (f *fakeSystemd) EnableUnit(_ context.Context, unit string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("EnableUnit", unit); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.wantsLink(unit)), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/usr/lib/systemd/system/"+templateOf(unit), f.wantsLink(unit)); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	f.meanwhile("EnableUnit")
	return nil
}

func (f *fakeSystemd) meanwhile(method string) {
	if f.done != nil {
		f.done(method)
	}
}

func templateOf(unit string) string {
	key, _ := ParseUnit(unit)
	return "snapm-" + string(key.Type) + "@.timer"
}

func (f *fakeSystemd) DisableUnit(_ context.Context, unit string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DisableUnit", unit); err != nil {
		return err
	}
	if err := os.Remove(f.wantsLink(unit)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f.meanwhile("DisableUnit")
	return nil
}

// job runs a start or stop and signals its changes before returning, as
// systemd sends PropertiesChanged before JobRemoved.
func (f *fakeSystemd) job(method, unit string, active bool) error {
	f.mu.Lock()
	if err := f.enter(method, unit); err != nil {
		f.mu.Unlock()
		return err
	}
	if active && !f.unit(unit).loaded {
		f.load(unit)
	}
	f.unit(unit).active = active
	st := f.state(unit)
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	if st.loaded() {
		f.events.UnitChanged(unit, seq, func(u *UnitState) {
			u.ActiveState, u.SubState, u.NextElapse, u.LastTrigger = st.ActiveState, st.SubState, st.NextElapse, st.LastTrigger
		})
	}
	return nil
}

func (f *fakeSystemd) StartUnit(_ context.Context, unit string) error {
	return f.job("StartUnit", unit, true)
}

func (f *fakeSystemd) StopUnit(_ context.Context, unit string) error {
	return f.job("StopUnit", unit, false)
}

func (f *fakeSystemd) Reload(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Reload", ""); err != nil {
		return err
	}
	for name, u := range f.units {
		_, linkErr := os.Lstat(f.wantsLink(name))
		switch {
		case u.loaded && !u.active && linkErr != nil:
			// Nothing holds it any more: systemd's garbage collection
			// unloads it.
			u.loaded = false
		case u.loaded:
			f.load(name)
		}
	}
	return nil
}

func (f *fakeSystemd) UnitState(_ context.Context, unit string) (UnitState, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UnitState", unit); err != nil {
		return UnitState{}, 0, err
	}
	f.seq++
	f.meanwhile("UnitState")
	return f.state(unit), f.seq, nil
}

func (f *fakeSystemd) UnitFileState(_ context.Context, unit string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UnitFileState", unit); err != nil {
		return "", err
	}
	if _, err := os.Lstat(f.wantsLink(unit)); err == nil {
		return "enabled", nil
	}
	return "disabled", nil
}

func (f *fakeSystemd) LoadedUnits(_ context.Context, patterns []string) (map[string]UnitState, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("LoadedUnits", ""); err != nil {
		return nil, 0, err
	}
	out := map[string]UnitState{}
	for name, u := range f.units {
		if u.loaded {
			st := f.state(name)
			// The list tells only these.
			out[name] = UnitState{LoadState: st.LoadState, ActiveState: st.ActiveState, SubState: st.SubState}
		}
	}
	f.seq++
	return out, f.seq, nil
}

// QueueStart queues nothing: no test here runs a service.
func (f *fakeSystemd) QueueStart(_ context.Context, unit string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enter("QueueStart", unit)
}

// ServiceState says the service is not loaded: it never ran.
func (f *fakeSystemd) ServiceState(_ context.Context, unit string) (RunState, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceState", unit); err != nil {
		return RunState{}, 0, err
	}
	f.seq++
	return RunState{}, f.seq, nil
}

// setFail makes method fail (nil: succeed again).
func (f *fakeSystemd) setFail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, method)
		return
	}
	f.fail[method] = err
}

// journal keeps what happened, in order, for a test to take.
type journal[T any] struct {
	mu    sync.Mutex
	items []T
}

func (j *journal[T]) add(v T) {
	j.mu.Lock()
	j.items = append(j.items, v)
	j.mu.Unlock()
}

// take returns what happened since the last take.
func (j *journal[T]) take() []T {
	j.mu.Lock()
	defer j.mu.Unlock()
	items := j.items
	j.items = nil
	return items
}

// event is one call of the Observer.
type event struct {
	Kind string // added, changed, removed
	Snapshot
}

// recorder is an Observer that keeps every call, in order.
type recorder struct {
	journal[event]
	// changed hears each TimerChanged's new snapshot, for tests that
	// wait on one; the rest are dropped when it is full.
	changed chan Snapshot
}

func (r *recorder) TimerAdded(s Snapshot) { r.add(event{"added", s}) }
func (r *recorder) TimerChanged(_, s Snapshot) {
	r.add(event{"changed", s})
	select {
	case r.changed <- s:
	default:
	}
}
func (r *recorder) TimerRemoved(s Snapshot) { r.add(event{"removed", s}) }

// schedRecorder is a ScheduleObserver that keeps every call, in order,
// as "added NAME CALENDAR", "changed NAME CALENDAR" or "removed NAME".
type schedRecorder struct {
	journal[string]
	// added, if not nil, is called at each ScheduleAdded.
	added func(schedule.Schedule)
}

func (r *schedRecorder) ScheduleAdded(s schedule.Schedule) {
	r.add("added " + s.Name + " " + s.CalendarSpec)
	if r.added != nil {
		r.added(s)
	}
}
func (r *schedRecorder) ScheduleChanged(s schedule.Schedule) {
	r.add("changed " + s.Name + " " + s.CalendarSpec)
}
func (r *schedRecorder) ScheduleRemoved(name string) { r.add("removed " + name) }

// env is a Manager wired to the fakes, in its own directories.
type env struct {
	m      *Manager
	sd     *fakeSystemd
	obs    *recorder
	scheds *schedRecorder
	// logs holds what the Manager logged.
	logs    *observer.ObservedLogs
	clock   *clock
	unitDir string
	state   string
	// schedules is snapm's schedule directory.
	schedules string
}

// newEnv wires a Manager to fresh fakes. setup, if not nil, prepares the
// disk before the Manager starts.
func newEnv(t *testing.T, setup func(e *env)) *env {
	t.Helper()
	host, err := calendar.ZoneFromTZ("UTC0")
	if err != nil {
		t.Fatal(err)
	}
	cal := calendar.Engine{Host: host}
	e := &env{obs: &recorder{changed: make(chan Snapshot, 100)}, scheds: &schedRecorder{}, clock: &clock{now: epoch}, unitDir: t.TempDir(), state: t.TempDir(), schedules: t.TempDir()}
	e.sd = newFakeSystemd(e.unitDir, cal, e.clock.Now)
	if setup != nil {
		setup(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	core, logs := observer.New(zap.InfoLevel)
	e.logs = logs
	e.m = NewManager(Config{Systemd: e.sd, Calendar: cal, Observer: e.obs, Schedules: e.scheds, Log: zap.New(core),
		UnitDir: e.unitDir, RuntimeUnitDir: t.TempDir(), StateDir: e.state, ScheduleDir: e.schedules, Now: e.clock.Now})
	e.sd.events = e.m
	done := make(chan struct{})
	go func() { defer close(done); e.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// settle lets the settle time pass, and the elapse keeper publish what it held
// back meanwhile.
func (e *env) settle() {
	e.clock.Set(e.clock.Now().Add(DefaultSettleTime))
	e.m.advanceElapses()
}

// write puts a file under the unit directory (rel) or, with state, the
// state directory.
func (e *env) write(t *testing.T, dir, rel, content string) {
	t.Helper()
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// disk describes what the unit directory holds for unit: its drop-in's
// expression ("" for none) and whether the unit is enabled.
func (e *env) disk(t *testing.T, unit string) string {
	t.Helper()
	spec, present, err := dropin.Read(e.unitDir, unit)
	if err != nil {
		t.Fatal(err)
	}
	_, linkErr := os.Lstat(e.sd.wantsLink(unit))
	out := "no drop-in"
	if present {
		out = fmt.Sprintf("drop-in %q", spec)
	}
	if linkErr == nil {
		out += ", enabled"
	}
	return out
}

// usec is t in CLOCK_REALTIME microseconds.
func usec(t time.Time) uint64 { return uint64(t.UnixMicro()) }

// sortedKeys is for stable iteration over a table where order matters to
// the reader of a failure only.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
