package realsystemd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/dropin"
)

var specs = []string{"hourly", "daily", "weekly", "monthly", "Thu,Fri *-*-1,5 11:12:13", "Sat,Sun 08:05:40"}

// TestLifecycle takes every timer type through create, enable, start, stop,
// disable and remove with the specs snapm users write, checking after each
// step the files on disk, systemd's own view and the object's properties.
func TestLifecycle(t *testing.T) {
	conn := connect(t)
	for typ, specs := range map[string][]string{"create": specs, "gc": {gcSpec}} {
		for i, spec := range specs {
			name := fmt.Sprintf("life%d", i)
			t.Run(typ+"/"+spec, func(t *testing.T) { lifecycle(t, conn, typ, name, spec) })
		}
	}
}

func lifecycle(t *testing.T, conn *dbus.Conn, typ, name, spec string) {
	unit := "snapm-" + typ + "@" + name + ".timer"
	dropIn := ns.UnitDirPath(unit+".d", dropin.FileName)
	wants := ns.UnitDirPath("timers.target.wants", unit)

	path := create(t, conn, typ, name, spec)
	if want := rootPath + dbus.ObjectPath("/"+typ+"/"+name); path != want {
		t.Fatalf("CreateTimer returned %s, want %s", path, want)
	}
	p := props(t, conn, path)
	for k, want := range map[string]any{"Type": typ, "Name": name, "Unit": unit, "CalendarSpec": spec,
		"Status": "disabled", "Enabled": false, "Running": false, "Occurs": true} {
		if got := p[k].Value(); got != want {
			t.Errorf("after create: %s = %v, want %v", k, got, want)
		}
	}
	normalized := p["Normalized"].Value().(string)
	if exists(dropIn) {
		t.Fatal("CreateTimer wrote a drop-in")
	}

	mustCall(t, conn, path, timerIf+".Enable")
	data, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatalf("after Enable: %v", err)
	}
	if string(data) != string(dropin.Content(spec)) {
		t.Errorf("drop-in content %q", data)
	}
	if st, _ := os.Stat(dropIn); st.Mode().Perm() != 0o644 {
		t.Errorf("drop-in mode %v", st.Mode().Perm())
	}
	if target, err := os.Readlink(wants); err != nil || filepath.Base(target) != "snapm-"+typ+"@.timer" {
		t.Errorf("timers.target.wants symlink: %q, %v", target, err)
	}
	if got := systemctlState(t, "is-enabled", unit); got != "enabled" {
		t.Errorf("systemctl is-enabled = %q", got)
	}
	// systemd loaded the drop-in, not the template's OnCalendar=daily.
	if cal := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.Contains(cal, "OnCalendar="+normalized+" ;") {
		t.Errorf("systemd's TimersCalendar = %q, want OnCalendar=%s", cal, normalized)
	}
	wantStatus(t, conn, path, "enabled")

	mustCall(t, conn, path, timerIf+".Start")
	p = props(t, conn, path)
	if p["Status"].Value() != "running" || p["Running"].Value() != true {
		t.Errorf("after Start: Status %v Running %v", p["Status"], p["Running"])
	}
	next := p["NextElapse"].Value().(uint64)
	if next <= usecNow() {
		t.Errorf("NextElapse %d is not in the future", next)
	}
	if sdNext := unitProp(t, conn, unit, "org.freedesktop.systemd1.Timer", "NextElapseUSecRealtime").Value().(uint64); sdNext != next {
		t.Errorf("NextElapse %d, systemd says %d", next, sdNext)
	}
	if got := systemctlState(t, "is-active", unit); got != "active" {
		t.Errorf("systemctl is-active = %q", got)
	}

	mustCall(t, conn, path, timerIf+".Stop")
	wantStatus(t, conn, path, "enabled")
	if got := systemctlState(t, "is-active", unit); got != "inactive" {
		t.Errorf("after Stop: systemctl is-active = %q", got)
	}

	mustCall(t, conn, path, timerIf+".Disable")
	wantStatus(t, conn, path, "disabled")
	if exists(dropIn) || exists(filepath.Dir(dropIn)) || exists(wants) {
		t.Errorf("after Disable: drop-in %v, its dir %v, wants symlink %v", exists(dropIn), exists(filepath.Dir(dropIn)), exists(wants))
	}
	if got := systemctlState(t, "is-enabled", unit); got != "disabled" {
		t.Errorf("after Disable: systemctl is-enabled = %q", got)
	}

	mustCall(t, conn, rootPath, managerIf+".RemoveTimer", path)
	// Its schedule stays: the timer is its file's again, disabled, with
	// nothing of it on disk; the file gone, it goes.
	wantStatus(t, conn, path, "disabled")
	if left := traces(t, conn, typ, name); !slices.Equal(left, []string{"GetTimer answers "}) {
		t.Errorf("after RemoveTimer: %q", left)
	}
	removeForGood(t, conn, typ, name, path)
}

// TestIdempotent repeats every method in the state it leads to.
func TestIdempotent(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "gc", "idem", gcSpec)
	for _, step := range []struct{ method, status string }{
		{"Disable", "disabled"}, {"Stop", "disabled"},
		{"Enable", "enabled"}, {"Enable", "enabled"}, {"Stop", "enabled"},
		{"Start", "running"}, {"Start", "running"}, {"Enable", "running"},
		{"Stop", "enabled"}, {"Stop", "enabled"},
		{"Disable", "disabled"}, {"Disable", "disabled"},
	} {
		mustCall(t, conn, path, timerIf+"."+step.method)
		wantStatus(t, conn, path, step.status)
	}
}

// TestBusctl drives one timer with busctl, the admins' client.
func TestBusctl(t *testing.T) {
	obj := string(rootPath) + "/create/admin_2dbusctl"
	busctl := func(args ...string) string {
		return inNS(t, append([]string{"busctl", "--system"}, args...)...)
	}
	withSchedule(t, "create", "admin-busctl", "Sat,Sun 08:05:40")
	if out := busctl("call", busName, string(rootPath), managerIf, "CreateTimer", "sss", "create", "admin-busctl", "Sat,Sun 08:05:40"); out != `o "`+obj+`"` {
		t.Fatalf("CreateTimer printed %q", out)
	}
	t.Cleanup(func() {
		busctl("call", busName, string(rootPath), managerIf, "RemoveTimer", "o", obj)
		agreeWithSystemd(t)
	})
	for _, step := range []struct{ method, status string }{
		{"Enable", "enabled"}, {"Start", "running"}, {"Stop", "enabled"}, {"Disable", "disabled"},
	} {
		busctl("call", busName, obj, timerIf, step.method)
		if got := busctl("get-property", busName, obj, timerIf, "Status"); got != `s "`+step.status+`"` {
			t.Errorf("after %s: Status %s", step.method, got)
		}
	}
}

// TestOtherClients reads the daemon with gdbus (GLib) and dbus-python.
func TestOtherClients(t *testing.T) {
	conn := connect(t)
	create(t, conn, "gc", "clients", gcSpec)
	out := inNS(t, "gdbus", "call", "--system", "--dest", busName, "--object-path", string(rootPath),
		"--method", "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
	if !strings.Contains(out, "'/com/redhat/Snapm/Timers/gc/clients'") || !strings.Contains(out, "'Status': <'disabled'>") {
		t.Errorf("gdbus GetManagedObjects: %s", out)
	}
	py := `import dbus
o = dbus.SystemBus().get_object("com.redhat.Snapm.Timers", "/com/redhat/Snapm/Timers/gc/clients")
print(o.Get("com.redhat.Snapm.Timers.Timer", "Normalized", dbus_interface="org.freedesktop.DBus.Properties"))`
	if out := inNS(t, "/usr/bin/python3", "-c", py); out != gcSpec {
		t.Errorf("dbus-python read Normalized = %q", out)
	}
}

// TestSetCalendarSpecWhileRunning changes a running timer's schedule.
func TestSetCalendarSpecWhileRunning(t *testing.T) {
	conn := connect(t)
	path := createRunning(t, conn, "create", "respec", "hourly")
	mustCall(t, conn, path, timerIf+".SetCalendarSpec", "Sat,Sun 08:05:40")
	p := props(t, conn, path)
	if p["Status"].Value() != "running" || p["CalendarSpec"].Value() != "Sat,Sun 08:05:40" || p["Normalized"].Value() != "Sat,Sun *-*-* 08:05:40" {
		t.Errorf("after SetCalendarSpec: %v", p)
	}
	if cal := inNS(t, "systemctl", "show", "-P", "TimersCalendar", "snapm-create@respec.timer"); !strings.Contains(cal, "OnCalendar=Sat,Sun *-*-* 08:05:40 ;") {
		t.Errorf("systemd did not take the new schedule: %q", cal)
	}
	data, _ := os.ReadFile(ns.UnitDirPath("snapm-create@respec.timer.d", dropin.FileName))
	if string(data) != string(dropin.Content("Sat,Sun 08:05:40")) {
		t.Errorf("drop-in after SetCalendarSpec: %q", data)
	}
	if sdNext := unitProp(t, conn, "snapm-create@respec.timer", "org.freedesktop.systemd1.Timer", "NextElapseUSecRealtime").Value().(uint64); sdNext != p["NextElapse"].Value().(uint64) {
		t.Errorf("NextElapse %v, systemd says %d", p["NextElapse"], sdNext)
	}
	mustCall(t, conn, path, timerIf+".Disable")
}
