package main

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func schedFixture(name string, sources []string, spec, typ string, params map[string]uint32, enabled, running bool, next uint64) Schedule {
	props := map[string]dbus.Variant{
		"Name": dbus.MakeVariant(name), "Sources": dbus.MakeVariant(sources), "DefaultSizePolicy": dbus.MakeVariant(""),
		"Autoindex": dbus.MakeVariant(true), "Boot": dbus.MakeVariant(false), "Revert": dbus.MakeVariant(false),
		"CalendarSpec": dbus.MakeVariant(spec), "GcPolicyType": dbus.MakeVariant(typ), "GcPolicyParams": dbus.MakeVariant(params),
		"Enabled": dbus.MakeVariant(enabled), "Running": dbus.MakeVariant(running), "NextElapse": dbus.MakeVariant(next),
	}
	return Schedule{Timer{Path: dbus.ObjectPath("/com/redhat/Snapm/Timers/schedule/" + name), Props: props}}
}

func schedules() []Schedule {
	h := func(d time.Duration) uint64 { return usec(fixedNow.Add(d)) }
	return []Schedule{
		schedFixture("hourly", []string{"/", "/var"}, "hourly", "TIMELINE", map[string]uint32{"keep_hourly": 24, "keep_daily": 7, "keep_yearly": 0}, true, true, h(time.Hour)),
		schedFixture("monthly", []string{"/home"}, "monthly", "AGE", map[string]uint32{"keep_days": 30}, true, false, h(24*time.Hour)),
		schedFixture("nightly", []string{"/"}, "Mon..Fri 02:30", "COUNT", map[string]uint32{"keep_count": 7}, false, false, h(22*time.Hour)),
		schedFixture("all", []string{"/srv"}, "weekly", "ALL", map[string]uint32{}, true, true, h(48*time.Hour)),
	}
}

// The schedule verbs' output: snapm's keys and order in show, the
// retention in words in list, and no next run where none will come.
func TestGoldenSchedules(t *testing.T) {
	for name, json := range map[string]string{"schedule-list": "", "schedule-list-json": "pretty"} {
		a, out, _ := testApp(t, false, nil)
		a.opts.json = json
		if err := a.renderScheduleList(out, schedules()); err != nil {
			t.Fatal(err)
		}
		golden(t, name, out.Bytes())
	}
	a, out, _ := testApp(t, false, nil)
	if err := a.renderSchedules(out, schedules()[:3]); err != nil {
		t.Fatal(err)
	}
	golden(t, "schedule-show", out.Bytes())
}
