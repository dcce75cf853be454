// Tests of the schedule objects on a private bus: their methods and
// errors, their properties as the bus shows them, and the schedule files
// followed from disk.
package bus

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
)

const scheduleIf = "com.redhat.Snapm.Timers.Schedule"

// scheduleProps reads every property of the schedule at path.
func (e *env) scheduleProps(path dbus.ObjectPath) map[string]any {
	e.t.Helper()
	var all map[string]dbus.Variant
	if err := e.call(path, "org.freedesktop.DBus.Properties.GetAll", scheduleIf).Store(&all); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range all {
		out[k] = v.Value()
	}
	return out
}

// signals hears the daemon's signals from now on.
func (e *env) signals() <-chan *dbus.Signal {
	e.t.Helper()
	if err := e.conn.AddMatchSignal(dbus.WithMatchSender(busName)); err != nil {
		e.t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 256)
	e.conn.Signal(ch)
	e.t.Cleanup(func() { e.conn.RemoveSignal(ch) })
	return ch
}

// TestScheduleOverTheBus: CreateSchedule writes snapm's file and shows the
// schedule with every field, running; its methods move it and the
// properties follow; DeleteSchedule takes it and both timers away.
func TestScheduleOverTheBus(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	sigs := e.signals()
	var path dbus.ObjectPath
	opts := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("timeline"), "keep_daily": dbus.MakeVariant(uint32(7)),
		"keep_hourly": dbus.MakeVariant(int32(24)), "default_size_policy": dbus.MakeVariant("10%SIZE"), "boot": dbus.MakeVariant(true)}
	if err := e.call(rootPath, managerIf+".CreateSchedule", "db1", []string{"/", "/var:2G"}, "Mon..Fri 02:30", opts).Store(&path); err != nil {
		t.Fatal(err)
	}
	if path != rootPath+"/schedule/db1" {
		t.Errorf("CreateSchedule returned %s", path)
	}
	want, err := schedule.New("db1", []string{"/", "/var:2G"}, "Mon..Fri 02:30", schedule.Options{"policy_type": "timeline",
		"keep_daily": 7, "keep_hourly": 24, "default_size_policy": "10%SIZE", "boot": true})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(schedule.Path(e.schedDir, "db1")); err != nil || string(data) != string(want.Marshal()) {
		t.Errorf("schedule file %q (%v), want %q", data, err, want.Marshal())
	}
	got := e.scheduleProps(path)
	params := map[string]uint32{}
	for _, p := range want.Params {
		params[p.Key] = uint32(p.Value)
	}
	for k, v := range map[string]any{"Name": "db1", "Sources": []string{"/", "/var:2G"}, "DefaultSizePolicy": "10%SIZE",
		"Autoindex": want.Autoindex, "Boot": true, "Revert": false, "CalendarSpec": "Mon..Fri 02:30", "GcPolicyType": "TIMELINE",
		"GcPolicyParams": params, "CreateTimer": rootPath + "/create/db1", "GcTimer": rootPath + "/gc/db1",
		"Enabled": true, "Running": true} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	// As snapm computes it: from the expression, whatever systemd runs.
	var normalized string
	var elapses []uint64
	if err := e.call(rootPath, managerIf+".ParseCalendar", "Mon..Fri 02:30", uint32(1)).Store(&normalized, &elapses); err != nil {
		t.Fatal(err)
	}
	if next := got["NextElapse"].(uint64); len(elapses) != 1 || next != elapses[0] {
		t.Errorf("NextElapse %d, the expression's next elapse %v", next, elapses)
	}
	var listed []dbus.ObjectPath
	if err := e.call(rootPath, managerIf+".ListSchedules").Store(&listed); err != nil || !slices.Equal(listed, []dbus.ObjectPath{path}) {
		t.Errorf("ListSchedules: %v (%v)", listed, err)
	}

	if err := e.call(path, scheduleIf+".Disable").Err; err != nil {
		t.Fatal(err)
	}
	if got := e.scheduleProps(path); got["Enabled"] != false || got["Running"] != false {
		t.Errorf("after Disable: Enabled %v, Running %v", got["Enabled"], got["Running"])
	}
	if err := e.call(path, scheduleIf+".Enable", true).Err; err != nil {
		t.Fatal(err)
	}
	if err := e.call(path, scheduleIf+".Edit", map[string]dbus.Variant{"calendarspec": dbus.MakeVariant("hourly")}).Err; err != nil {
		t.Fatal(err)
	}
	if got := e.scheduleProps(path); got["CalendarSpec"] != "hourly" || got["Running"] != true {
		t.Errorf("after Edit: CalendarSpec %v, Running %v", got["CalendarSpec"], got["Running"])
	}
	if got := e.prop(rootPath+"/create/db1", "CalendarSpec"); got != "hourly" {
		t.Errorf("after Edit the create timer runs %v", got)
	}

	if err := e.call(rootPath, managerIf+".DeleteSchedule", path).Err; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(schedule.Path(e.schedDir, "db1")); !os.IsNotExist(err) {
		t.Errorf("schedule file after DeleteSchedule: %v", err)
	}
	removed := map[dbus.ObjectPath]bool{}
	for deadline := time.After(hangGuard); len(removed) < 3; {
		select {
		case s := <-sigs:
			if s.Name == "org.freedesktop.DBus.ObjectManager.InterfacesRemoved" {
				removed[s.Body[0].(dbus.ObjectPath)] = true
			}
		case <-deadline:
			t.Fatalf("after DeleteSchedule only %v were withdrawn", removed)
		}
	}
	var objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := e.call(rootPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects").Store(&objects); err != nil || len(objects) != 0 {
		t.Errorf("after DeleteSchedule the bus still shows %v (%v)", objects, err)
	}
}

// TestScheduleErrors: each refusal has its name and changes nothing.
func TestScheduleErrors(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	e.schedule("taken", "daily")
	all := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all")}
	for _, tc := range []struct {
		what string
		call *dbus.Call
		want string
	}{
		{"CreateTimer without a schedule", e.call(rootPath, managerIf+".CreateTimer", "create", "nosched", "daily"), errPrefix + "NoSuchSchedule"},
		{"CreateTimerWithFlags without a schedule", e.call(rootPath, managerIf+".CreateTimerWithFlags", "create", "nosched", "daily", uint64(3)), errPrefix + "NoSuchSchedule"},
		{"a gc timer on another calendar", e.call(rootPath, managerIf+".CreateTimer", "gc", "taken", "daily"), errPrefix + "InvalidArgument"},
		{"CreateSchedule of a name taken", e.call(rootPath, managerIf+".CreateSchedule", "taken", []string{"/"}, "daily", all), errPrefix + "ScheduleExists"},
		{"CreateSchedule without a policy type", e.call(rootPath, managerIf+".CreateSchedule", "nopolicy", []string{"/"}, "daily", map[string]dbus.Variant{}), errPrefix + "InvalidArgument"},
		{"CreateSchedule with an unknown option", e.call(rootPath, managerIf+".CreateSchedule", "unknown", []string{"/"}, "daily",
			map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all"), "colour": dbus.MakeVariant("red")}), errPrefix + "InvalidArgument"},
		{"CreateSchedule with a double", e.call(rootPath, managerIf+".CreateSchedule", "double", []string{"/"}, "daily",
			map[string]dbus.Variant{"policy_type": dbus.MakeVariant("count"), "keep_count": dbus.MakeVariant(2.5)}), errPrefix + "InvalidArgument"},
		{"CreateSchedule on a bad calendar", e.call(rootPath, managerIf+".CreateSchedule", "badcal", []string{"/"}, "25:00", all), errPrefix + "InvalidCalendar"},
		{"CreateSchedule with a bad name", e.call(rootPath, managerIf+".CreateSchedule", "a/b", []string{"/"}, "daily", all), errPrefix + "InvalidArgument"},
		{"CreateSchedule with the wrong types", e.call(rootPath, managerIf+".CreateSchedule", "x", "/", "daily", all), "org.freedesktop.DBus.Error.InvalidArgs"},
		{"GetSchedule of none", e.call(rootPath, managerIf+".GetSchedule", "none"), errPrefix + "NoSuchSchedule"},
		{"DeleteSchedule of none", e.call(rootPath, managerIf+".DeleteSchedule", rootPath+"/schedule/none"), errPrefix + "NoSuchSchedule"},
	} {
		if got := errName(tc.call.Err); got != tc.want {
			t.Errorf("%s: %v, want %s", tc.what, tc.call.Err, tc.want)
		}
	}
	entries, err := os.ReadDir(e.schedDir)
	if err != nil || len(entries) != 1 {
		t.Errorf("refused calls left the schedule directory with %v (%v)", entries, err)
	}
	if files := e.leftovers(); len(files) != 0 {
		t.Errorf("refused calls left %v", files)
	}
}

// TestSchedulesFollowTheDirectory: a file written by snapm appears within
// a second, a change of it shows, a file snapm cannot load is survived and
// shown nowhere, and a file removed takes its object away.
func TestSchedulesFollowTheDirectory(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	path := rootPath + "/schedule/outside"
	shown := func() bool {
		var p dbus.ObjectPath
		return e.call(rootPath, managerIf+".GetSchedule", "outside").Store(&p) == nil
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a second", what)
			}
		}
	}
	e.schedule("outside", "daily")
	within("a new file shown", shown)
	if err := os.WriteFile(schedule.Path(e.schedDir, "broken"), []byte(`{"name": "broken", `), 0o644); err != nil {
		t.Fatal(err)
	}
	e.schedule("outside", "weekly")
	within("a changed file shown", func() bool { return e.scheduleProps(path)["CalendarSpec"] == "weekly" })
	if err := e.call(rootPath, managerIf+".GetSchedule", "broken").Err; errName(err) != errPrefix+"NoSuchSchedule" {
		t.Errorf("a file snapm cannot load: %v, want NoSuchSchedule", err)
	}
	if err := os.Remove(schedule.Path(e.schedDir, "outside")); err != nil {
		t.Fatal(err)
	}
	within("a removed file withdrawn", func() bool { return !shown() })
}

// TestScheduleNamesAsSnapm: CreateSchedule takes exactly the names snapm
// gives a schedule (service/schedule.ValidateName, which a differential
// test holds to snapm 0.7's own verdicts), its longest and its odd ones
// too, and each taken name is a schedule object with both timers.
// Planted bug (the timer-name rule of 200 characters, no leading "." or
// "-"): the names snapm takes beyond it are refused.
func TestScheduleNamesAsSnapm(t *testing.T) {
	t.Parallel()
	e := start(t, 20*time.Second)
	all := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all")}
	for _, name := range []string{"-x", ".hidden", "..", "a.b-c", strings.Repeat("n", 234), strings.Repeat("n", 235),
		".", "a_b", "a:b", `a\b`, "a+b", "ü"} {
		snapmTakes := schedule.ValidateName(name) == nil
		var path dbus.ObjectPath
		err := e.call(rootPath, managerIf+".CreateSchedule", name, []string{"/"}, "daily", all).Store(&path)
		switch {
		case snapmTakes && err != nil:
			t.Errorf("CreateSchedule(%.20q) refused a name snapm takes: %v", name, err)
		case !snapmTakes && errName(err) != errPrefix+"InvalidArgument":
			t.Errorf("CreateSchedule(%.20q) = %v, want InvalidArgument as snapm refuses it", name, err)
		case snapmTakes:
			props := e.scheduleProps(path)
			if props["Name"] != name {
				t.Errorf("CreateSchedule(%.20q) shows the name %.20q", name, props["Name"])
			}
			if err := e.call(rootPath, managerIf+".DeleteSchedule", path).Err; err != nil {
				t.Errorf("DeleteSchedule(%.20q): %v", name, err)
			}
		}
	}
}
