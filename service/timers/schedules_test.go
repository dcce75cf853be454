package timers

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// newSchedule is the schedule CreateSchedule gets in these tests.
func newSchedule(t *testing.T, e *env, name, spec string) schedule.Schedule {
	t.Helper()
	s, err := e.m.CheckSchedule(name, []string{"/", "/home:+20%FREE"}, spec,
		schedule.Options{"policy_type": "count", "keep_count": uint32(7), "autoindex": true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot returns the published state of the timer of type typ of the
// schedule name.
func (e *env) snapshot(t *testing.T, typ Type, name string) Snapshot {
	t.Helper()
	s, err := e.m.Get(string(typ), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCreateSchedule: the file is what the model writes, both timers end
// enabled and running on their calendars, in snapm's order, and the
// schedule is announced before its timers change.
func TestCreateSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := newSchedule(t, e, "nightly", "*-*-* 02:30")
	if err := e.m.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(schedule.Path(e.schedules, "nightly"))
	if err != nil || string(data) != string(s.Marshal()) {
		t.Errorf("schedule file %q (%v), want %q", data, err, s.Marshal())
	}
	if got := e.scheds.take(); !slices.Equal(got, []string{"added nightly *-*-* 02:30"}) {
		t.Errorf("schedule events %q", got)
	}
	for typ, spec := range map[Type]string{TypeCreate: "*-*-* 02:30", TypeGC: schedule.GCCalendarSpec} {
		snap := e.snapshot(t, typ, "nightly")
		if snap.Status != StatusRunning || snap.SnapmStatus != StatusRunning || snap.Spec != spec {
			t.Errorf("%s: status %s, snapm's %s, calendar %q; want running on %q", snap.Unit(), snap.Status, snap.SnapmStatus, snap.Spec, spec)
		}
		if got := e.disk(t, snap.Unit()); got != `drop-in "`+spec+`", enabled` {
			t.Errorf("%s on disk: %s", snap.Unit(), got)
		}
	}
	create, gc := e.snapshot(t, TypeCreate, "nightly"), e.snapshot(t, TypeGC, "nightly")
	if enabled, running, next := ScheduleState(&create, &gc); !enabled || !running || next != create.NextElapse {
		t.Errorf("ScheduleState: enabled %t, running %t, next %d", enabled, running, next)
	}
	if err := e.m.CreateSchedule(ctx, s); !errors.Is(err, ErrScheduleExists) {
		t.Errorf("a second CreateSchedule: %v, want ErrScheduleExists", err)
	}
}

// TestCreateTimerNeedsSchedule: a timer of a name with no schedule file is
// refused, naming both ways to make one, and leaves nothing behind.
func TestCreateTimerNeedsSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, flags := range []uint64{0, uint64(CreateEnable | CreateStart)} {
		_, err := e.m.CreateWithFlags(ctx, "create", "orphan", "daily", flags)
		if !errors.Is(err, ErrNoSuchSchedule) || !strings.Contains(err.Error(), "CreateSchedule") || !strings.Contains(err.Error(), "snapm schedule create") {
			t.Errorf("flags %#x: %v, want ErrNoSuchSchedule naming CreateSchedule and snapm schedule create", flags, err)
		}
	}
	if _, err := e.m.Get("create", "orphan"); !errors.Is(err, ErrNoSuchTimer) {
		t.Errorf("a refused CreateTimer left a timer: %v", err)
	}
	if entries, _ := os.ReadDir(e.unitDir); len(entries) != 0 {
		t.Errorf("a refused CreateTimer left %v", entries)
	}
	// A file snapm cannot load is no schedule either.
	e.write(t, e.schedules, "broken.json", `{"name": "broken"`)
	if _, err := e.m.Create(ctx, "create", "broken", "daily"); !errors.Is(err, ErrNoSuchSchedule) {
		t.Errorf("CreateTimer over a broken schedule file: %v, want ErrNoSuchSchedule", err)
	}
}

// TestGCCalendarIsFixed: a gc timer runs on snapm's calendar only.
func TestGCCalendarIsFixed(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.schedule(t, "fixed", "daily")
	if _, err := e.m.CheckNew("gc", "fixed", "hourly", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("CheckNew of a gc timer on hourly: %v, want ErrInvalidArgument", err)
	}
	if _, err := e.m.Create(ctx, "gc", "fixed", "hourly"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Create of a gc timer on hourly: %v, want ErrInvalidArgument", err)
	}
	s := mustCreate(t, e, "gc", "fixed", schedule.GCCalendarSpec)
	if _, err := e.m.SetCalendarSpec(ctx, s.Key, "hourly"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetCalendarSpec of a gc timer to hourly: %v, want ErrInvalidArgument", err)
	}
}

// TestSetCalendarWritesSchedule: a create timer's new calendar goes to its
// schedule's file too, which snapm writes back at its next enable.
func TestSetCalendarWritesSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := mustCreate(t, e, "create", "moved", "daily")
	if _, err := e.m.Enable(ctx, s.Key); err != nil {
		t.Fatal(err)
	}
	e.scheds.take()
	if _, err := e.m.SetCalendarSpec(ctx, s.Key, "Mon *-*-* 04:00"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(schedule.Path(e.schedules, "moved"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := schedule.Parse(data)
	if err != nil || file.CalendarSpec != "Mon *-*-* 04:00" {
		t.Errorf("schedule file after SetCalendarSpec: %+v (%v)", file, err)
	}
	if got := e.disk(t, s.Unit()); got != `drop-in "Mon *-*-* 04:00", enabled` {
		t.Errorf("drop-in after SetCalendarSpec: %s", got)
	}
	if got := e.scheds.take(); !slices.Equal(got, []string{"changed moved Mon *-*-* 04:00"}) {
		t.Errorf("schedule events %q", got)
	}
}

// TestScheduleMethodsInSnapmsOrder: each method asks systemd what its
// snapm subcommand does, in that order; Disable leaves both timers
// unloaded, which snapm reads as disabled.
func TestScheduleMethodsInSnapmsOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "ordered", "daily")); err != nil {
		t.Fatal(err)
	}
	const c, g = "snapm-create@ordered.timer", "snapm-gc@ordered.timer"
	calls := func() []string {
		var out []string
		for _, call := range e.sd.calls.take() {
			if !strings.HasPrefix(call, "UnitState") && !strings.HasPrefix(call, "UnitFileState") {
				out = append(out, call)
			}
		}
		return out
	}
	calls()
	for _, step := range []struct {
		name string
		do   func() error
		want []string
	}{
		{"Stop", func() error { return e.m.StopSchedule(ctx, "ordered") }, []string{"StopUnit " + c, "StopUnit " + g}},
		{"Start", func() error { return e.m.StartSchedule(ctx, "ordered") }, []string{"StartUnit " + c, "StartUnit " + g}},
		{"Disable", func() error { return e.m.DisableSchedule(ctx, "ordered") },
			[]string{"StopUnit " + c, "DisableUnit " + c, "Reload ", "StopUnit " + g, "DisableUnit " + g, "Reload "}},
		{"Enable", func() error { return e.m.EnableSchedule(ctx, "ordered", false) }, []string{"EnableUnit " + c, "EnableUnit " + g}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := calls(); !slices.Equal(got, step.want) {
			t.Errorf("%s asked systemd %q, want %q", step.name, got, step.want)
		}
		if step.name == "Disable" {
			for _, typ := range Types {
				if s := e.snapshot(t, typ, "ordered"); s.SnapmStatus != StatusDisabled || s.Status != StatusDisabled {
					t.Errorf("after Disable %s: status %s, snapm's %s", s.Unit(), s.Status, s.SnapmStatus)
				}
			}
		}
	}
	if err := e.m.EditSchedule(ctx, "ordered", schedule.Options{"calendarspec": "hourly"}); err != nil {
		t.Fatal(err)
	}
	if s := e.snapshot(t, TypeCreate, "ordered"); s.Spec != "hourly" || s.Status != StatusRunning {
		t.Errorf("after Edit: %s on %q, want running on hourly", s.Status, s.Spec)
	}
	if err := e.m.StopSchedule(ctx, "missing"); !errors.Is(err, ErrNoSuchSchedule) {
		t.Errorf("Stop of a schedule with no file: %v, want ErrNoSuchSchedule", err)
	}
}

// TestDeleteSchedule: both timers and the file go, and nothing of them is
// left on disk or on the bus.
func TestDeleteSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.m.CreateSchedule(ctx, newSchedule(t, e, "doomed", "daily")); err != nil {
		t.Fatal(err)
	}
	e.obs.take()
	e.scheds.take()
	if err := e.m.DeleteSchedule(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	if got := e.scheds.take(); !slices.Equal(got, []string{"removed doomed"}) {
		t.Errorf("schedule events %q", got)
	}
	removed := 0
	for _, ev := range e.obs.take() {
		if ev.Kind == "removed" {
			removed++
		}
	}
	if removed != 2 {
		t.Errorf("%d timers withdrawn, want both", removed)
	}
	if len(e.m.List()) != 0 {
		t.Errorf("timers left: %v", e.m.List())
	}
	if _, err := os.Stat(schedule.Path(e.schedules, "doomed")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("schedule file left: %v", err)
	}
	for _, unit := range []string{"snapm-create@doomed.timer", "snapm-gc@doomed.timer"} {
		if got := e.disk(t, unit); got != "no drop-in" {
			t.Errorf("%s left: %s", unit, got)
		}
	}
}

// TestSchedulesFollowDisk: files written, changed and removed by someone
// else (snapm) come, change and go; a file snapm cannot load is logged
// with its name and reason and shown nowhere; a schedule removed takes
// with it the timers of which nothing else is left.
func TestSchedulesFollowDisk(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.m.LoadSchedules()
	e.schedule(t, "outside", "daily")
	e.write(t, e.schedules, "bad.json", `{"name": "bad", "sources": []}`)
	e.m.SchedulesChanged(ctx, []string{"outside", "bad"})
	if got := e.scheds.take(); !slices.Equal(got, []string{"added outside daily"}) {
		t.Errorf("schedule events after two new files: %q", got)
	}
	if logged := e.logs.FilterField(zap.String("file", schedule.Path(e.schedules, "bad"))).Len(); logged != 1 {
		t.Errorf("the file snapm cannot load was logged %d times, want once", logged)
	}
	e.schedule(t, "outside", "weekly")
	e.m.SchedulesChanged(ctx, nil)
	if got := e.scheds.take(); !slices.Equal(got, []string{"changed outside weekly"}) {
		t.Errorf("schedule events after an edit: %q", got)
	}
	// A timer made for it, never enabled, follows its calendar.
	s := mustCreate(t, e, "create", "outside", "weekly")
	e.schedule(t, "outside", "monthly")
	e.m.SchedulesChanged(ctx, []string{"outside"})
	if got := e.snapshot(t, TypeCreate, "outside").Spec; got != "monthly" {
		t.Errorf("the timer of an edited schedule runs %q, want monthly", got)
	}
	// snapm's delete leaves nothing of the timer: it goes with the file.
	if err := os.Remove(dropin.Dir(e.unitDir, s.Unit())); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(schedule.Path(e.schedules, "outside")); err != nil {
		t.Fatal(err)
	}
	e.scheds.take()
	e.m.SchedulesChanged(ctx, []string{"outside"})
	if got := e.scheds.take(); !slices.Equal(got, []string{"removed outside"}) {
		t.Errorf("schedule events after a removal: %q", got)
	}
	if _, err := e.m.Get("create", "outside"); !errors.Is(err, ErrNoSuchTimer) {
		t.Errorf("the timer of a deleted schedule stays: %v", err)
	}
}

// TestDeletedScheduleTakesItsTimers: a schedule file removed while its
// timers run (a call of ours enabled them as snapm deleted the schedule)
// takes them with it, disabled, as neither can run without it; a file
// that only became unloadable leaves them be.
func TestDeletedScheduleTakesItsTimers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, name := range []string{"deleted", "broken"} {
		if err := e.m.CreateSchedule(ctx, newSchedule(t, e, name, "daily")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(schedule.Path(e.schedules, "deleted")); err != nil {
		t.Fatal(err)
	}
	e.write(t, e.schedules, "broken.json", `{"name": "broken"`)
	e.m.SchedulesChanged(ctx, []string{"deleted", "broken"})
	for _, unit := range []string{"snapm-create@deleted.timer", "snapm-gc@deleted.timer"} {
		if got := e.disk(t, unit); got != "no drop-in" {
			t.Errorf("%s of a deleted schedule: %s", unit, got)
		}
	}
	var left []string
	for _, s := range e.m.List() {
		left = append(left, s.Unit()+" "+string(s.Status))
	}
	if want := []string{"snapm-create@broken.timer running", "snapm-gc@broken.timer running"}; !slices.Equal(left, want) {
		t.Errorf("timers left %q, want %q", left, want)
	}
}
