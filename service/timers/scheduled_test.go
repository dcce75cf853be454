package timers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// shown is what the observer heard since the last take, one
// "KIND UNIT STATUS CALENDAR" a call.
func (e *env) shown() []string {
	var out []string
	for _, ev := range e.obs.take() {
		out = append(out, ev.Kind+" "+ev.Unit()+" "+string(ev.Status)+" "+ev.Spec)
	}
	return out
}

// recorded tells whether the state directory keeps a record of unit.
func (e *env) recorded(unit string) bool {
	_, err := os.Stat(filepath.Join(e.state, recordDir, unit))
	return err == nil
}

// TestScheduleFileBringsTimers: a schedule file with nothing else of its
// timers (written by hand, restored, or left by a create cut short) shows
// both, disabled, on the calendars it gives them, at start-up and as it
// comes while running; both go with it. No record is written: the file
// is what brings them back.
func TestScheduleFileBringsTimers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(e *env) { e.schedule(t, "restored", "weekly") })
	e.m.LoadSchedules()
	if err := e.m.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"added snapm-create@restored.timer disabled weekly", "added snapm-gc@restored.timer disabled " + schedule.GCCalendarSpec}
	// Announced at start-up in no order.
	if got := e.shown(); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("at start-up: %q, want %q", got, want)
	}

	// The schedule is shown once the objects it names are.
	var unnamed []string
	e.scheds.added = func(s schedule.Schedule) {
		for _, key := range ScheduleKeys(s.Name) {
			if _, err := e.m.Get(string(key.Type), key.Name); err != nil {
				unnamed = append(unnamed, key.Unit())
			}
		}
	}
	e.schedule(t, "byhand", "daily")
	e.m.SchedulesChanged(ctx, []string{"byhand"})
	if len(unnamed) > 0 {
		t.Errorf("the schedule was added before its timers %q", unnamed)
	}
	want = []string{"added snapm-create@byhand.timer disabled daily", "added snapm-gc@byhand.timer disabled " + schedule.GCCalendarSpec}
	if got := e.shown(); !slices.Equal(got, want) {
		t.Errorf("a new file: %q, want %q", got, want)
	}
	for _, unit := range []string{"snapm-create@byhand.timer", "snapm-gc@byhand.timer", "snapm-create@restored.timer"} {
		if e.recorded(unit) {
			t.Errorf("%s was recorded", unit)
		}
		if got := e.disk(t, unit); got != "no drop-in" {
			t.Errorf("%s on disk: %s", unit, got)
		}
	}

	if err := os.Remove(schedule.Path(e.schedules, "byhand")); err != nil {
		t.Fatal(err)
	}
	e.m.SchedulesChanged(ctx, []string{"byhand"})
	want = []string{"removed snapm-create@byhand.timer disabled daily", "removed snapm-gc@byhand.timer disabled " + schedule.GCCalendarSpec}
	if got := e.shown(); !slices.Equal(got, want) {
		t.Errorf("the file removed: %q, want %q", got, want)
	}
	if calls := e.sd.calls.take(); slices.ContainsFunc(calls, func(c string) bool {
		return c != "UnitState snapm-create@byhand.timer" && c != "UnitState snapm-gc@byhand.timer" && c != "UnitState snapm-create@restored.timer" && c != "UnitState snapm-gc@restored.timer" && c != "LoadedUnits "
	}) {
		t.Errorf("systemd was asked to change something: %q", calls)
	}
}

// TestCreateTimerTakesOverScheduled: CreateTimer of a timer its schedule
// file alone brought makes it the caller's, as it would have made it:
// same object, the calendar in the file, a record, the flags done; a
// second CreateTimer finds it exists.
func TestCreateTimerTakesOverScheduled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.schedule(t, "taken", "daily")
	e.m.SchedulesChanged(ctx, []string{"taken"})
	before := e.snapshot(t, TypeCreate, "taken")
	e.shown()

	got, err := e.m.Create(ctx, "create", "taken", "hourly")
	if err != nil {
		t.Fatal(err)
	}
	if got.Instance != before.Instance || got.Spec != "hourly" || got.Status != StatusDisabled {
		t.Errorf("taken over: instance %d (was %d), %s on %q", got.Instance, before.Instance, got.Status, got.Spec)
	}
	if s, err := schedule.Read(e.schedules, "taken"); err != nil || s.CalendarSpec != "hourly" {
		t.Errorf("the schedule's calendar %q (%v), want hourly", s.CalendarSpec, err)
	}
	if !e.recorded(got.Unit()) {
		t.Errorf("%s taken over has no record", got.Unit())
	}
	if _, err := e.m.Create(ctx, "create", "taken", "weekly"); !errors.Is(err, ErrTimerExists) {
		t.Errorf("a second CreateTimer: %v, want ErrTimerExists", err)
	}
	if s, _ := schedule.Read(e.schedules, "taken"); s.CalendarSpec != "hourly" {
		t.Errorf("a refused CreateTimer wrote the schedule's calendar %q", s.CalendarSpec)
	}

	gc, err := e.m.CreateWithFlags(ctx, "gc", "taken", schedule.GCCalendarSpec, uint64(CreateEnable|CreateStart))
	if err != nil || gc.Status != StatusRunning {
		t.Fatalf("CreateTimerWithFlags over the gc timer: %s, %v", gc.Status, err)
	}
	if got := e.disk(t, gc.Unit()); got != `drop-in "`+schedule.GCCalendarSpec+`", enabled` {
		t.Errorf("%s on disk: %s", gc.Unit(), got)
	}
	for _, ev := range e.shown() {
		if ev[:5] == "added" {
			t.Errorf("taking over announced a new object: %s", ev)
		}
	}
}

// TestRemoveLeavesScheduleTimer: a timer removed while its schedule stays
// is withdrawn and comes back as its schedule's, disabled and unclaimed,
// as a restart would bring it; once the file goes, both go for good.
func TestRemoveLeavesScheduleTimer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := mustCreate(t, e, "create", "kept", "daily")
	if _, err := e.m.Enable(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	e.shown()
	if err := e.m.Remove(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	want := []string{"removed snapm-create@kept.timer enabled daily", "added snapm-create@kept.timer disabled daily", "added snapm-gc@kept.timer disabled " + schedule.GCCalendarSpec}
	if got := e.shown(); !slices.Equal(got, want) {
		t.Errorf("Remove: %q, want %q", got, want)
	}
	if e.recorded(s.Unit()) {
		t.Errorf("the record of %s stays", s.Unit())
	}
	if _, err := e.m.Create(ctx, "create", "kept", "daily"); err != nil {
		t.Errorf("CreateTimer after the Remove: %v", err)
	}

	// A restart keeps both, claimed or not, and brings back no other.
	e2 := newEnv(t, func(e2 *env) {
		e2.unitDir, e2.state, e2.schedules, e2.sd.unitDir = e.unitDir, e.state, e.schedules, e.unitDir
	})
	e2.m.LoadSchedules()
	if err := e2.m.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, s := range e2.m.List() {
		units = append(units, s.Unit()+" "+string(s.Status))
	}
	if want := []string{"snapm-create@kept.timer disabled", "snapm-gc@kept.timer disabled"}; !slices.Equal(units, want) {
		t.Errorf("after a restart: %q, want %q", units, want)
	}
	if _, err := e2.m.Create(ctx, "gc", "kept", schedule.GCCalendarSpec); err != nil {
		t.Errorf("CreateTimer of the unclaimed gc timer after a restart: %v", err)
	}
	if _, err := e2.m.Create(ctx, "create", "kept", "daily"); !errors.Is(err, ErrTimerExists) {
		t.Errorf("CreateTimer of the claimed create timer after a restart: %v, want ErrTimerExists", err)
	}
}

// writeNamed writes file (NAME.json) holding the schedule name, as a
// hand or a backup tool might.
func writeNamed(t *testing.T, e *env, file, name, spec string) {
	t.Helper()
	s, err := schedule.New(name, []string{"/"}, spec, schedule.Options{"policy_type": "all"})
	if err != nil {
		t.Fatal(err)
	}
	e.write(t, e.schedules, file, string(s.Marshal()))
}

// TestScheduleByInnerName: as snapm 0.7 loads every *.json by the name
// inside it, a file whose name differs is that schedule, on the bus and
// for every operation (DeleteSchedule removes that file, as snapm's
// delete does); of two files naming one schedule, NAME.json is it, and
// the other is logged.
func TestScheduleByInnerName(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(e *env) {
		writeNamed(t, e, "dup.json", "twice", "daily")
		writeNamed(t, e, "twice.json", "twice", "weekly")
	})
	e.m.LoadSchedules()
	if got := e.scheds.take(); !slices.Equal(got, []string{"added twice weekly"}) {
		t.Errorf("two files naming one schedule: %q", got)
	}
	if e.logs.FilterField(zap.String("file", "dup.json")).Len() != 1 {
		t.Errorf("the second file naming a schedule was not logged")
	}

	writeNamed(t, e, "backup.json", "inner", "hourly")
	e.m.SchedulesChanged(ctx, []string{"backup"})
	if got := e.scheds.take(); !slices.Equal(got, []string{"added inner hourly"}) {
		t.Errorf("a file naming another schedule: %q", got)
	}
	if _, err := e.m.GetSchedule("backup"); !errors.Is(err, ErrNoSuchSchedule) {
		t.Errorf("the file's own name is a schedule: %v", err)
	}
	if got := e.snapshot(t, TypeCreate, "inner").Spec; got != "hourly" {
		t.Errorf("its create timer runs %q, want hourly", got)
	}
	if err := e.m.DeleteSchedule(ctx, "inner"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.schedules, "backup.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DeleteSchedule left the file it was read from: %v", err)
	}

	// The file's name changing what it holds: the schedule it held goes,
	// the one it holds comes.
	writeNamed(t, e, "moving.json", "moving", "daily")
	e.m.SchedulesChanged(ctx, []string{"moving"})
	writeNamed(t, e, "moving.json", "moved", "daily")
	e.scheds.take()
	e.m.SchedulesChanged(ctx, []string{"moving"})
	if got := e.scheds.take(); !slices.Equal(got, []string{"added moved daily", "removed moving"}) {
		t.Errorf("a file renaming its schedule: %q", got)
	}
}
