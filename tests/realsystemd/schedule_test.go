package realsystemd

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/dropin"
)

const scheduleIf = "com.redhat.Snapm.Timers.Schedule"

// snapmStatus is a timer's status as snapm 0.7 computes it from systemd
// (_timers.py, _status_timer): GetUnit, which loads nothing, then the
// unit's LoadState, ActiveState and SubState.
func snapmStatus(t testing.TB, conn *dbus.Conn, unit string) string {
	t.Helper()
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var path dbus.ObjectPath
	if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path); err != nil {
		var e dbus.Error
		if errors.As(err, &e) && e.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return "disabled"
		}
		t.Fatal(err)
	}
	var props map[string]dbus.Variant
	if err := conn.Object("org.freedesktop.systemd1", path).Call(propsIf+".GetAll", 0, "org.freedesktop.systemd1.Unit").Store(&props); err != nil {
		t.Fatal(err)
	}
	load, active, sub := props["LoadState"].Value(), props["ActiveState"].Value(), props["SubState"].Value()
	switch {
	case load == "loaded" && active == "active" && sub == "waiting":
		return "running"
	case load == "loaded" && active == "inactive" && sub == "dead":
		return "enabled"
	}
	return "invalid"
}

// wantScheduleAsSnapm fails t unless the schedule's Enabled and Running
// are what snapm computes from systemd now, and are want.
func wantScheduleAsSnapm(t testing.TB, conn *dbus.Conn, name string, want bool) {
	t.Helper()
	create, gc := snapmStatus(t, conn, "snapm-create@"+name+".timer"), snapmStatus(t, conn, "snapm-gc@"+name+".timer")
	enabled, running := create == "enabled" || create == "running", create == "running" && gc == "running"
	var props map[string]dbus.Variant
	if err := mustCall(t, conn, rootPath+"/schedule/"+dbus.ObjectPath(buslabel.Escape(name)), propsIf+".GetAll", scheduleIf).Store(&props); err != nil {
		t.Fatal(err)
	}
	if props["Enabled"].Value() != enabled || props["Running"].Value() != running || enabled != want || running != want {
		t.Errorf("schedule %s: Enabled %v, Running %v on the bus; snapm computes %t, %t (create %s, gc %s); want %t",
			name, props["Enabled"], props["Running"], enabled, running, create, gc, want)
	}
}

// TestScheduleOnRealSystemd takes a schedule through the bus from its
// creation to its deletion: after each call, systemd and the disk are as
// snapm would leave them, the schedule says what snapm computes, its
// signals carried every value it shows, and no timer ever showed invalid.
func TestScheduleOnRealSystemd(t *testing.T) {
	rec, conn := recordTruth(t)
	const name = "rs-sched"
	path := rootPath + "/schedule/rs_2dsched"
	ch := watch(t, conn, path)
	opts := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("count"), "keep_count": dbus.MakeVariant(uint32(3))}
	var got dbus.ObjectPath
	if err := mustCall(t, conn, rootPath, managerIf+".CreateSchedule", name, []string{"/"}, "hourly", opts).Store(&got); err != nil || got != path {
		t.Fatalf("CreateSchedule: %s, %v", got, err)
	}
	t.Cleanup(func() { call(t, conn, rootPath, managerIf+".DeleteSchedule", path) })
	if _, err := os.Stat(ns.SnapmDirPath("schedule.d", name+".json")); err != nil {
		t.Errorf("no schedule file: %v", err)
	}
	wantScheduleAsSnapm(t, conn, name, true)
	for _, step := range []struct {
		method string
		args   []any
		want   bool
		spec   string
	}{
		{"Disable", nil, false, ""},
		{"Enable", []any{true}, true, "hourly"},
		{"Edit", []any{map[string]dbus.Variant{"calendarspec": dbus.MakeVariant("daily")}}, true, "daily"},
	} {
		mustCall(t, conn, path, scheduleIf+"."+step.method, step.args...)
		wantScheduleAsSnapm(t, conn, name, step.want)
		for _, unit := range []string{"snapm-create@" + name + ".timer", "snapm-gc@" + name + ".timer"} {
			wantEnabled := map[bool]string{true: "enabled", false: "disabled"}[step.want]
			if got := systemctlState(t, "is-enabled", unit); got != wantEnabled {
				t.Errorf("after %s: systemctl is-enabled %s says %s, want %s", step.method, unit, got, wantEnabled)
			}
		}
		if got, _, err := dropin.Read(ns.UnitDirPath(), "snapm-create@"+name+".timer"); err != nil || got != step.spec {
			t.Errorf("after %s: the create timer's drop-in says %q, want %q", step.method, got, step.spec)
		}
	}
	// The signals carried every value the object shows.
	seen := map[string]any{}
	for drained := false; !drained; {
		select {
		case sig := <-ch:
			if sig.Path != path || sig.Name != propsIf+".PropertiesChanged" {
				continue // the connection hears every signal recordTruth asked for
			}
			for k, v := range sig.Body[1].(map[string]dbus.Variant) {
				seen[k] = v.Value()
			}
		case <-time.After(200 * time.Millisecond):
			drained = true
		}
	}
	var props map[string]dbus.Variant
	if err := mustCall(t, conn, path, propsIf+".GetAll", scheduleIf).Store(&props); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Enabled", "Running", "CalendarSpec", "NextElapse"} {
		if !reflect.DeepEqual(seen[k], props[k].Value()) {
			t.Errorf("%s: the last PropertiesChanged said %v, the object shows %v", k, seen[k], props[k].Value())
		}
	}

	mustCall(t, conn, rootPath, managerIf+".DeleteSchedule", path)
	for _, p := range []dbus.ObjectPath{path, rootPath + "/create/rs_2dsched", rootPath + "/gc/rs_2dsched"} {
		if err := call(t, conn, p, propsIf+".GetAll", "").Err; err == nil {
			t.Errorf("%s is still on the bus after DeleteSchedule", p)
		}
	}
	for _, unit := range []string{"snapm-create@" + name + ".timer", "snapm-gc@" + name + ".timer"} {
		if got := snapmStatus(t, conn, unit); got != "disabled" {
			t.Errorf("after DeleteSchedule snapm says %s is %s", unit, got)
		}
		if exists(ns.UnitDirPath(unit + ".d")) {
			t.Errorf("after DeleteSchedule %s.d is left", unit)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, line := range rec.trace {
		if strings.Contains(line, `Status:"invalid"`) {
			t.Errorf("a timer was published invalid: %s", line)
		}
	}
}

// TestSchedulesAcrossRestart: a restart keeps a disabled schedule and its
// timers, and brings back nothing of one snapm deleted meanwhile.
func TestSchedulesAcrossRestart(t *testing.T) {
	conn := connect(t)
	opts := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all")}
	for _, name := range []string{"rs-kept", "rs-gone"} {
		mustCall(t, conn, rootPath, managerIf+".CreateSchedule", name, []string{"/"}, "hourly", opts)
		t.Cleanup(func() {
			// On the bus of the restarted daemon: conn is closed by then.
			call(t, connect(t), rootPath, managerIf+".DeleteSchedule", rootPath+"/schedule/"+dbus.ObjectPath(buslabel.Escape(name)))
		})
	}
	mustCall(t, conn, rootPath+"/schedule/rs_2dkept", scheduleIf+".Disable")

	// snapm schedule delete rs-gone, while the daemon is stopped.
	inNS(t, "systemctl", "stop", "snapm-timersd.service")
	for _, unit := range []string{"snapm-create@rs-gone.timer", "snapm-gc@rs-gone.timer"} {
		inNS(t, "systemctl", "disable", "--now", unit)
		if err := os.RemoveAll(ns.UnitDirPath(unit + ".d")); err != nil {
			t.Fatal(err)
		}
	}
	inNS(t, "systemctl", "daemon-reload")
	if err := os.Remove(ns.SnapmDirPath("schedule.d", "rs-gone.json")); err != nil {
		t.Fatal(err)
	}
	inNS(t, "systemctl", "start", "snapm-timersd.service")
	conn = connect(t)

	var objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := mustCall(t, conn, rootPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects").Store(&objects); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[dbus.ObjectPath]bool{
		rootPath + "/schedule/rs_2dkept": true, rootPath + "/create/rs_2dkept": true, rootPath + "/gc/rs_2dkept": true,
		rootPath + "/schedule/rs_2dgone": false, rootPath + "/create/rs_2dgone": false, rootPath + "/gc/rs_2dgone": false,
	} {
		if _, shown := objects[path]; shown != want {
			t.Errorf("after the restart %s shown: %t, want %t", path, shown, want)
		}
	}
	for _, unit := range []string{"snapm-create@rs-gone.timer", "snapm-gc@rs-gone.timer"} {
		if _, err := ns.Output(testCtx(t), "test", "-e", "/var/lib/snapm-timersd/timers/"+unit); err == nil {
			t.Errorf("the record of %s is left", unit)
		}
	}
	wantScheduleAsSnapm(t, conn, "rs-kept", false)
}
