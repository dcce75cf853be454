package systemd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/timers"
)

func TestUnitPathRoundTrip(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"snapm-create@0ab_c:d.e-f.timer", "snapm-gc@hourly.timer", "dbus.service"} {
		path := UnitPath(unit)
		got, ok := unitFromPath(path)
		if !ok || got != unit {
			t.Errorf("unitFromPath(%s) = %q, %v; want %q", path, got, ok, unit)
		}
	}
	for _, path := range []dbus.ObjectPath{"/org/freedesktop/systemd1", "/org/freedesktop/systemd1/unit/a/b",
		"/org/freedesktop/systemd1/unit/x_2", "/org/freedesktop/systemd1/unit/x_zz"} {
		if u, ok := unitFromPath(path); ok {
			t.Errorf("unitFromPath(%s) = %q, want no unit", path, u)
		}
	}
}

// A job's result may be handled before its caller knows the job's path.
func TestJobTrackerKeepsEarlyResults(t *testing.T) {
	t.Parallel()
	var j jobTracker
	j.init()
	j.begin()
	j.removed("/job/1", "done") // the signal wins the race with the reply
	j.removed("/job/2", "failed")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if r, err := j.wait(ctx, "/job/1"); r != "done" || err != nil {
		t.Errorf("early result: %q, %v", r, err)
	}
	go j.removed("/job/3", "canceled")
	if r, err := j.wait(ctx, "/job/3"); r != "canceled" || err != nil {
		t.Errorf("late result: %q, %v", r, err)
	}
	j.end()
	if len(j.early) != 0 {
		t.Errorf("%d unclaimed results kept with no call in flight", len(j.early))
	}
	j.removed("/job/4", "done") // nobody waits and nobody will
	if len(j.early) != 0 {
		t.Error("a result was kept with no call in flight")
	}
}

func TestJobTrackerBoundsUnclaimedResults(t *testing.T) {
	t.Parallel()
	var j jobTracker
	j.init()
	j.begin()
	t.Cleanup(j.end)
	for i := 0; i < 3*maxEarly; i++ {
		j.removed(dbus.ObjectPath(fmt.Sprintf("/job/%d", i)), "done")
	}
	if len(j.early) > maxEarly {
		t.Errorf("%d unclaimed results kept, bound is %d", len(j.early), maxEarly)
	}
}

// TestCalendarsVetted: an expression systemd reports is published only if
// the engine takes it; a control character never reaches a property.
func TestCalendarsVetted(t *testing.T) {
	c := &Client{cal: calendar.Engine{Host: calendar.UTC}, log: zap.NewNop()}
	type entry struct {
		Base string
		Spec string
		Next uint64
	}
	for name, tc := range map[string]struct {
		entries []entry
		want    []string
	}{
		"normalized expression": {entries: []entry{{"OnCalendar", "*-*-* 00:00:00", 0}}, want: []string{"*-*-* 00:00:00"}},
		"other bases left out": {entries: []entry{{"OnActiveSec", "1h", 0}, {"OnCalendar", "Sat *-*-* 08:00:00", 0}},
			want: []string{"Sat *-*-* 08:00:00"}},
		"terminal escape":  {entries: []entry{{"OnCalendar", "\x1b]0;pwned\x07*-*-* 00:00:00", 0}}},
		"not a calendar":   {entries: []entry{{"OnCalendar", "*-*-* 00:00:00", 0}, {"OnCalendar", "25:00", 0}}},
		"invalid UTF-8":    {entries: []entry{{"OnCalendar", "daily\xff", 0}}},
		"nothing reported": {entries: []entry{}},
	} {
		t.Run(name, func(t *testing.T) {
			st := timers.UnitState{Calendars: []string{"stale"}}
			c.applier("snapm-gc@x.timer", map[string]dbus.Variant{"TimersCalendar": dbus.MakeVariant(tc.entries)})(&st)
			if !slices.Equal(st.Calendars, tc.want) {
				t.Errorf("Calendars = %q, want %q", st.Calendars, tc.want)
			}
		})
	}
}

// TestErrorClasses: systemd's failures reach the D-Bus surface as the
// domain's error classes, however deeply they are wrapped.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	job := fmt.Errorf("enabling: %w", &JobError{Unit: "snapm-gc@x.timer", Type: "start", Result: "failed"})
	call := fmt.Errorf("enabling: %w", &CallError{Method: "EnableUnitFiles", Name: "org.freedesktop.systemd1.UnitMasked", Message: "masked"})
	if !errors.Is(job, timers.ErrJobFailed) || errors.Is(job, timers.ErrSystemd) {
		t.Errorf("a failed job is not (only) timers.ErrJobFailed: %v", job)
	}
	if !errors.Is(call, timers.ErrSystemd) || errors.Is(call, timers.ErrJobFailed) {
		t.Errorf("a failed call is not (only) timers.ErrSystemd: %v", call)
	}
}
