package timers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dropin"
)

// idleSystemd has nothing loaded and does every job at once.
type idleSystemd struct{}

func (idleSystemd) EnableUnit(context.Context, string) error  { return nil }
func (idleSystemd) DisableUnit(context.Context, string) error { return nil }
func (idleSystemd) StartUnit(context.Context, string) error   { return nil }
func (idleSystemd) StopUnit(context.Context, string) error    { return nil }
func (idleSystemd) Reload(context.Context) error              { return nil }
func (idleSystemd) UnitState(context.Context, string) (UnitState, uint64, error) {
	return UnitState{}, 1, nil
}
func (idleSystemd) UnitFileState(context.Context, string) (string, error) { return "disabled", nil }
func (idleSystemd) QueueStart(context.Context, string) error              { return nil }
func (idleSystemd) Follow(Key)                                            {}
func (idleSystemd) Unfollow(Key)                                          {}
func (idleSystemd) ServiceState(context.Context, string) (RunState, uint64, error) {
	return RunState{}, 1, nil
}
func (idleSystemd) LoadedUnits(context.Context, []string) (map[string]UnitState, uint64, error) {
	return nil, 1, nil
}

// objects is an Observer that keeps the set of timers it was told of,
// trusting the domain to tell of a key's removal before its next creation;
// a removal can be held at its start.
type objects struct {
	mu       sync.Mutex
	known    map[Key]bool
	removing chan struct{} // closed when a removal begins, if not nil
	proceed  chan struct{} // a removal waits for it, if not nil
	changes  []Snapshot
}

func (o *objects) TimerAdded(s Snapshot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.known[s.Key] = true
}

func (o *objects) TimerChanged(_, s Snapshot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes = append(o.changes, s)
}

func (o *objects) TimerRemoved(s Snapshot) {
	if o.removing != nil {
		close(o.removing)
		<-o.proceed
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.known, s.Key)
}

// runningSystemd runs every unit.
type runningSystemd struct{ idleSystemd }

func (runningSystemd) UnitState(context.Context, string) (UnitState, uint64, error) {
	return UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", NextElapse: 1}, 1, nil
}

func newTestManager(t *testing.T, obs Observer) *Manager {
	return newTestManagerWith(t, idleSystemd{}, obs)
}

func newTestManagerWith(t *testing.T, sd Systemd, obs Observer) *Manager {
	t.Helper()
	host, err := calendar.ZoneFromTZ("UTC0")
	if err != nil {
		t.Fatal(err)
	}
	return NewManager(Config{Systemd: sd, Calendar: calendar.Engine{Host: host}, Observer: obs,
		Log: zap.NewNop(), UnitDir: t.TempDir(), StateDir: t.TempDir(), ScheduleDir: t.TempDir()})
}

// TestRemoveKeepsKeyUntilGone: a Create of the name a Remove is still
// withdrawing is refused, so no timer is left listed without its object
// or its record.
func TestRemoveKeepsKeyUntilGone(t *testing.T) {
	obs := &objects{known: map[Key]bool{}}
	m := newTestManager(t, obs)
	ctx := context.Background()
	writeSchedule(t, m.cfg.ScheduleDir, "race", "daily")
	old, err := m.Create(ctx, "create", "race", "daily")
	if err != nil {
		t.Fatal(err)
	}
	obs.removing, obs.proceed = make(chan struct{}), make(chan struct{})
	removed := make(chan error, 1)
	go func() { removed <- m.Remove(ctx, old.Key) }()
	<-obs.removing
	// The schedule's lock holds the Create until the Remove is over.
	created := make(chan error, 1)
	go func() { _, err := m.Create(ctx, "create", "race", "hourly"); created <- err }()
	close(obs.proceed)
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
	createErr := <-created

	_, getErr := m.Get("create", "race")
	obs.mu.Lock()
	_, exported := obs.known[old.Key]
	obs.mu.Unlock()
	_, statErr := os.Stat(filepath.Join(m.cfg.StateDir, recordDir, old.Unit()))
	switch {
	case createErr == nil && (getErr != nil || !exported || statErr != nil):
		t.Errorf("the timer created during the removal: Get %v, exported %t, record %v", getErr, exported, statErr)
	case createErr != nil && !errors.Is(createErr, ErrTimerExists):
		t.Errorf("Create during the removal: %v, want ErrTimerExists or success", createErr)
	case createErr != nil && (getErr == nil || exported || statErr == nil):
		t.Errorf("removed timer left behind: Get %v, exported %t, record %v", getErr, exported, statErr)
	}
}

// TestCreateWithExpiredContext: a call whose context ended (polkit
// answering at the timeout) fails or succeeds, but never panics.
func TestCreateWithExpiredContext(t *testing.T) {
	m := newTestManager(t, &objects{known: map[Key]bool{}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// lock picks at random between a free lock and a done context.
	for i := range 32 {
		name := fmt.Sprintf("late%d", i)
		writeSchedule(t, m.cfg.ScheduleDir, name, "daily")
		if _, err := m.Create(ctx, "create", name, "daily"); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Create %s: %v", name, err)
		}
	}
}

// TestSignalledChangePublishedOnce: systemd sends a change as the timer's
// properties, then the unit's; the object changes once, with both.
func TestSignalledChangePublishedOnce(t *testing.T) {
	obs := &objects{known: map[Key]bool{}}
	m := newTestManagerWith(t, runningSystemd{}, obs)
	writeSchedule(t, m.cfg.ScheduleDir, "burst", "daily")
	s, err := m.Create(context.Background(), "create", "burst", "daily")
	if err != nil {
		t.Fatal(err)
	}
	unit := s.Unit()
	// Active without a drop-in, the timer is invalid: as if that had
	// lasted, so that its changes are published.
	tm, _ := m.timer(s.Key)
	tm.mu.Lock()
	tm.settleNow()
	tm.mu.Unlock()
	obs.mu.Lock()
	obs.changes = nil
	obs.mu.Unlock()
	// An elapse, over: its time and the next, then the unit waiting again.
	m.UnitChanged(unit, 10, func(u *UnitState) { u.NextElapse, u.LastTrigger = 7, 5 })
	obs.mu.Lock()
	early := len(obs.changes)
	obs.mu.Unlock()
	m.UnitChanged(unit, 11, func(u *UnitState) { u.ActiveState, u.SubState = "active", "waiting" })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if early != 0 || len(obs.changes) != 1 || obs.changes[0].LastTrigger != 5 || obs.changes[0].NextElapse != 7 {
		t.Errorf("published %d changes before the unit's half, %+v after, want none, then one with LastTrigger 5, NextElapse 7",
			early, obs.changes)
	}
}

// TestChangedSince: a disagreement between the engine and systemd is
// judged only over a drop-in that was on disk before systemd was read.
func TestChangedSince(t *testing.T) {
	e := newEnv(t, nil)
	const unit = "snapm-create@since.timer"
	read := time.Now()
	if !e.m.changedSince(unit, read) {
		t.Error("no drop-in: judged unchanged")
	}
	e.write(t, e.unitDir, unit+".d/"+dropin.FileName, string(dropin.Content("daily")))
	if !e.m.changedSince(unit, read) {
		t.Error("a drop-in written after systemd was read: judged unchanged")
	}
	old := read.Add(-time.Second)
	if err := os.Chtimes(dropin.Path(e.unitDir, unit), old, old); err != nil {
		t.Fatal(err)
	}
	if e.m.changedSince(unit, read) {
		t.Error("a drop-in written a second before systemd was read: judged changed")
	}
}
