package systemd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
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
