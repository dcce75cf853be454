package realsystemd

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/systemd"
)

// TestOutsideChangesEmitPropertiesChanged: someone else's systemctl stop
// and start reach the object as PropertiesChanged (the benchmark reports
// how fast), and someone else's daemon-reload changes nothing.
func TestOutsideChangesEmitPropertiesChanged(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@outside.timer"
	path := createRunning(t, conn, "create", "outside", "hourly")
	ch := watch(t, conn, path)

	inNS(t, "systemctl", "stop", unit)
	waitChange(t, ch, path, map[string]any{"Status": "enabled", "Running": false}, hangGuard)
	wantStatus(t, conn, path, "enabled")

	inNS(t, "systemctl", "start", unit)
	waitChange(t, ch, path, map[string]any{"Status": "running", "Running": true}, hangGuard)

	// A daemon-reload by someone else leaves the running timer as it was.
	// The drop-in says the same schedule in other words, so that the
	// daemon's re-read after the reload shows (CalendarSpec changes) and
	// the test need not guess when it is over.
	if err := dropin.Write(ns.UnitDirPath(), unit, "*-*-* *:00:00"); err != nil {
		t.Fatal(err)
	}
	inNS(t, "systemctl", "daemon-reload")
	seen := waitChange(t, ch, path, map[string]any{"CalendarSpec": "*-*-* *:00:00"}, hangGuard)
	if status, ok := seen["Status"]; ok {
		t.Errorf("the reload moved Status to %v", status)
	}
	wantStatus(t, conn, path, "running")
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestSignalsBeforeReply: the signals of a call reach the caller before
// the call's reply does (Cockpit relies on it): InterfacesAdded and
// InterfacesRemoved with the object's whole state, and PropertiesChanged
// of every state change.
func TestSignalsBeforeReply(t *testing.T) {
	conn := connect(t)
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(rootPath), dbus.WithMatchInterface("org.freedesktop.DBus.ObjectManager")); err != nil {
		t.Fatal(err)
	}
	const name = "ordering"
	path := rootPath + "/create/" + name
	ch := watch(t, conn, path)
	// next returns the first signal named member that reached us before
	// the reply (message serial replySeq) and satisfies ok.
	next := func(what, member string, replySeq dbus.Sequence, ok func(*dbus.Signal) bool) *dbus.Signal {
		t.Helper()
		deadline := time.After(hangGuard)
		for {
			select {
			case s := <-ch:
				if s.Name != member || !ok(s) {
					continue
				}
				if s.Sequence >= replySeq {
					t.Errorf("%s: %s (message %d) arrived after the reply (message %d)", what, member, s.Sequence, replySeq)
				}
				return s
			case <-deadline:
				t.Fatalf("%s: no %s", what, member)
			}
		}
	}
	withSchedule(t, "create", name, "daily")
	reply := mustCall(t, conn, rootPath, managerIf+".CreateTimer", "create", name, "daily")
	added := next("CreateTimer", "org.freedesktop.DBus.ObjectManager.InterfacesAdded", reply.ResponseSequence, func(s *dbus.Signal) bool {
		return s.Body[0] == path
	})
	if got, want := added.Body[1].(map[string]map[string]dbus.Variant)[timerIf], props(t, conn, path); !reflect.DeepEqual(got, want) {
		t.Errorf("InterfacesAdded carries %v; GetAll says %v", got, want)
	}
	for _, step := range []struct {
		method string
		args   []any
		prop   string
		value  any
	}{
		{method: "Enable", prop: "Status", value: "enabled"},
		{method: "Start", prop: "Status", value: "running"},
		{method: "SetCalendarSpec", args: []any{"weekly"}, prop: "CalendarSpec", value: "weekly"},
		{method: "Stop", prop: "Status", value: "enabled"},
		{method: "Disable", prop: "Status", value: "disabled"},
	} {
		reply := mustCall(t, conn, path, timerIf+"."+step.method, step.args...)
		next(step.method, propsIf+".PropertiesChanged", reply.ResponseSequence, func(s *dbus.Signal) bool {
			v, ok := s.Body[1].(map[string]dbus.Variant)[step.prop]
			return s.Path == path && ok && v.Value() == step.value
		})
	}
	reply = mustCall(t, conn, rootPath, managerIf+".RemoveTimer", path)
	removed := next("RemoveTimer", "org.freedesktop.DBus.ObjectManager.InterfacesRemoved", reply.ResponseSequence, func(s *dbus.Signal) bool {
		return s.Body[0] == path
	})
	if got := removed.Body[1]; !reflect.DeepEqual(got, []string{timerIf}) {
		t.Errorf("InterfacesRemoved names %v, want [%s]", got, timerIf)
	}
}

// TestRestartAdoptsTimers restarts the daemon and expects every timer back
// with its true status: its own (enabled, running, created only) and one
// made the way the Python snapm makes them.
func TestRestartAdoptsTimers(t *testing.T) {
	conn := connect(t)
	running := createRunning(t, conn, "create", "adopt-running", "hourly")
	enabled := create(t, conn, "gc", "adopt-enabled", gcSpec)
	mustCall(t, conn, enabled, timerIf+".Enable")
	created := create(t, conn, "create", "adopt-created", "Thu,Fri *-*-1,5 11:12:13")

	// As snapm's Python code does it: drop-in, enable, reload, start.
	const legacy = "snapm-create@legacy.timer"
	if err := dropin.Write(ns.UnitDirPath(), legacy, "Sat,Sun 08:05:40"); err != nil {
		t.Fatal(err)
	}
	inNS(t, "systemctl", "enable", legacy)
	inNS(t, "systemctl", "start", legacy)
	t.Cleanup(func() {
		ns.Output(testCtx(t), "systemctl", "disable", "--now", legacy)
		dropin.Remove(ns.UnitDirPath(), legacy)
	})

	inNS(t, "systemctl", "restart", "snapm-timersd.service")
	conn = connect(t)

	var objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := mustCall(t, conn, rootPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects").Store(&objects); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[dbus.ObjectPath][2]string{
		running:                     {"running", "hourly"},
		enabled:                     {"enabled", gcSpec},
		created:                     {"disabled", "Thu,Fri *-*-1,5 11:12:13"},
		rootPath + "/create/legacy": {"running", "Sat,Sun 08:05:40"},
	} {
		p := objects[path][timerIf]
		if p == nil {
			t.Errorf("%s not adopted", path)
			continue
		}
		if p["Status"].Value() != want[0] || p["CalendarSpec"].Value() != want[1] {
			t.Errorf("%s adopted as %v %q, want %s %q", path, p["Status"], p["CalendarSpec"], want[0], want[1])
		}
	}
	mustCall(t, conn, rootPath+"/create/legacy", timerIf+".Disable")
	mustCall(t, conn, rootPath, managerIf+".RemoveTimer", rootPath+"/create/legacy")
}

// TestUnprivilegedCaller: uid 65534 may look but, with no polkit rule for
// this timer, not touch.
func TestUnprivilegedCaller(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "create", "guarded", "daily")
	mustCall(t, conn, path, timerIf+".Enable")
	dest := []string{"gdbus", "call", "--system", "--dest", busName}

	for _, read := range [][]string{
		{"--object-path", string(path), "--method", propsIf + ".Get", timerIf, "Status"},
		{"--object-path", string(path), "--method", propsIf + ".GetAll", timerIf},
		{"--object-path", string(rootPath), "--method", managerIf + ".ListTimers"},
		{"--object-path", string(rootPath), "--method", managerIf + ".GetTimer", "create", "guarded"},
		{"--object-path", string(rootPath), "--method", "org.freedesktop.DBus.ObjectManager.GetManagedObjects"},
		{"--object-path", string(path), "--method", "org.freedesktop.DBus.Introspectable.Introspect"},
		{"--object-path", string(rootPath), "--method", managerIf + ".ParseCalendar", "daily", "3"},
	} {
		if _, err := ns.OutputAs(testCtx(t), 65534, append(dest, read...)...); err != nil {
			t.Errorf("read refused: %v", err)
		}
	}
	for _, write := range [][]string{
		{"--object-path", string(rootPath), "--method", managerIf + ".CreateTimer", "create", "intruder", "daily"},
		{"--object-path", string(rootPath), "--method", managerIf + ".RemoveTimer", string(path)},
		{"--object-path", string(path), "--method", timerIf + ".Enable"},
		{"--object-path", string(path), "--method", timerIf + ".Start"},
		{"--object-path", string(path), "--method", timerIf + ".Stop"},
		{"--object-path", string(path), "--method", timerIf + ".Disable"},
		{"--object-path", string(path), "--method", timerIf + ".SetCalendarSpec", "hourly"},
	} {
		_, err := ns.OutputAs(testCtx(t), 65534, append(dest, write...)...)
		if err == nil || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.AccessDenied") {
			t.Errorf("%s: got %v, want AccessDenied", write[3], err)
		}
	}
	p := props(t, conn, path)
	if p["Status"].Value() != "enabled" || p["CalendarSpec"].Value() != "daily" {
		t.Errorf("refused calls changed the timer: %v", p)
	}
	if err := call(t, conn, rootPath, managerIf+".GetTimer", "create", "intruder").Err; err == nil {
		t.Error("refused CreateTimer created a timer")
	}
	if exists(ns.UnitDirPath("snapm-create@intruder.timer.d")) {
		t.Error("refused CreateTimer wrote a drop-in")
	}
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestIntrospectionMatchesXML compares what the daemon really serves with
// the XML files, the single source of truth: GetAll's names and D-Bus
// types on the root and on a live timer, and every method called with its
// declared arguments (answered, with the declared reply signature) and
// with one argument more (refused as InvalidArgs). Introspection itself is
// rendered from the same XML, so comparing it would prove nothing.
func TestIntrospectionMatchesXML(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "gc", "introspected", gcSpec)
	doomed := create(t, conn, "gc", "introspected-doomed", gcSpec)
	withSchedule(t, "gc", "introspected-made", gcSpec)
	withSchedule(t, "gc", "introspected-flagged", gcSpec)
	sched := waitSchedule(t, conn, "introspected-sched", "daily")
	doomedSched := waitSchedule(t, conn, "introspected-doomed-sched", "daily")
	t.Cleanup(func() {
		call(t, conn, rootPath, managerIf+".RemoveTimer", rootPath+"/gc/introspected_2dmade")
		call(t, conn, rootPath, managerIf+".RemoveTimer", rootPath+"/gc/introspected_2dflagged")
		call(t, conn, rootPath, managerIf+".DeleteSchedule", sched)
		call(t, conn, rootPath, managerIf+".DeleteSchedule", rootPath+"/schedule/introspected_2dnew")
	})
	// Arguments each declared method answers with success, in the order
	// they run; a method the XML declares and this table lacks fails.
	calls := map[string]map[string][]any{
		introspection.Manager: {
			"CreateTimer":          {"gc", "introspected-made", gcSpec},
			"CreateTimerWithFlags": {"gc", "introspected-flagged", gcSpec, uint64(0x1)},
			"GetTimer":             {"gc", "introspected"},
			"ListTimers":           nil,
			"RemoveTimer":          {doomed},
			"ParseCalendar":        {"daily", uint32(2)},
			"ParseCalendarAt":      {"daily", uint64(1_700_000_000_000_000), uint32(2)},
			"CreateSchedule":       {"introspected-new", []string{"/"}, "daily", map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all")}},
			"DeleteSchedule":       {doomedSched},
			"GetSchedule":          {"introspected-sched"},
			"ListSchedules":        nil,
		},
		introspection.Timer: {
			"RunNow":          nil,
			"Enable":          nil,
			"Start":           nil,
			"Stop":            nil,
			"Disable":         nil,
			"SetCalendarSpec": {gcSpec},
		},
		introspection.Schedule: {
			"Enable":  {true},
			"Start":   nil,
			"Stop":    nil,
			"Disable": nil,
			"Edit":    {map[string]dbus.Variant{"autoindex": dbus.MakeVariant(true)}},
		},
	}
	for obj, name := range map[dbus.ObjectPath]string{rootPath: introspection.Manager, path: introspection.Timer, sched: introspection.Schedule} {
		want, err := introspection.Interface(name)
		if err != nil {
			t.Fatal(err)
		}
		served := map[string]string{}
		var all map[string]dbus.Variant
		if err := mustCall(t, conn, obj, propsIf+".GetAll", name).Store(&all); err != nil {
			t.Fatal(err)
		}
		for k, v := range all {
			served[k] = v.Signature().String()
		}
		declared := map[string]string{}
		for _, p := range want.Properties {
			declared[p.Name] = p.Type
			if p.Access != "read" {
				t.Errorf("%s.%s is declared %s; every property is read-only", name, p.Name, p.Access)
			}
		}
		if !reflect.DeepEqual(served, declared) {
			t.Errorf("%s on %s serves properties %v; the XML declares %v", name, obj, served, declared)
		}
		for _, m := range want.Methods {
			args, ok := calls[name][m.Name]
			if !ok {
				t.Errorf("%s.%s is declared; this test does not know how to call it", name, m.Name)
				continue
			}
			var in, out string
			for _, a := range m.Args {
				if a.Direction == "out" {
					out += a.Type
				} else {
					in += a.Type
				}
			}
			if got := dbus.SignatureOf(args...).String(); got != in {
				t.Errorf("%s.%s: the test calls it with %q, the XML declares %q", name, m.Name, got, in)
			}
			if err := call(t, conn, obj, name+"."+m.Name, append(slices.Clone(args), "extra")...).Err; errName(err) != "org.freedesktop.DBus.Error.InvalidArgs" {
				t.Errorf("%s.%s with an argument more than %q: %v, want InvalidArgs", name, m.Name, in, err)
			}
			reply := call(t, conn, obj, name+"."+m.Name, args...)
			if reply.Err != nil {
				t.Errorf("%s.%s(%q) as declared: %v", name, m.Name, in, reply.Err)
				continue
			}
			if got := dbus.SignatureOf(reply.Body...).String(); got != out {
				t.Errorf("%s.%s replies %q; the XML declares %q", name, m.Name, got, out)
			}
		}
	}
	var version string
	if err := mustCall(t, conn, rootPath, propsIf+".Get", managerIf, "Version").Store(&version); err != nil || version != daemon.Version {
		t.Errorf("Version %q (%v), want the build's %q", version, err, daemon.Version)
	}
}

// TestEscapingMatchesSystemd: our object-path labels follow systemd's own
// rule, checked against the unit paths systemd hands out.
func TestEscapingMatchesSystemd(t *testing.T) {
	conn := connect(t)
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	for _, name := range []string{"0ab_c:d.e-f", "hourly", "9lives", "A.B", "x_y-z:1"} {
		unit := "snapm-gc@" + name + ".timer"
		var path dbus.ObjectPath
		if err := sd.Call("org.freedesktop.systemd1.Manager.LoadUnit", 0, unit).Store(&path); err != nil {
			t.Fatal(err)
		}
		if want := systemd.UnitPath(unit); path != want {
			t.Errorf("systemd's path for %s is %s, we compute %s", unit, path, want)
		}
	}
}

// TestBadInputChangesNothing: operations refused for the timer's state (the
// arguments are TestHostileInput's) leave systemd as it was.
func TestBadInputChangesNothing(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "gc", "not-enabled", gcSpec)
	if err := call(t, conn, path, timerIf+".Start").Err; errName(err) != "com.redhat.Snapm.Timers.Error.NotEnabled" {
		t.Errorf("Start on a disabled timer: %v", err)
	}
	if got := systemctlState(t, "is-active", "snapm-gc@not-enabled.timer"); got != "inactive" {
		t.Errorf("refused Start left the unit %s", got)
	}
	if err := call(t, conn, path, timerIf+".SetCalendarSpec", "25:00").Err; errName(err) != "com.redhat.Snapm.Timers.Error.InvalidCalendar" {
		t.Errorf("SetCalendarSpec(25:00): %v", err)
	}
	if err := call(t, conn, rootPath, managerIf+".CreateTimer", "gc", "not-enabled", gcSpec).Err; errName(err) != "com.redhat.Snapm.Timers.Error.TimerExists" {
		t.Errorf("second CreateTimer: %v", err)
	}
}

// TestElapseEmitsPropertiesChanged: a timer that elapses moves LastTrigger
// and NextElapse, and the object says so.
func TestElapseEmitsPropertiesChanged(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@elapsing.timer"
	preciseElapses(t, unit)
	path := create(t, conn, "create", "elapsing", "*:*:0/2")
	mustCall(t, conn, path, timerIf+".Enable")
	ch := watch(t, conn, path)
	mustCall(t, conn, path, timerIf+".Start")
	first := props(t, conn, path)["NextElapse"].Value().(uint64)

	// While the triggered service runs systemd has no next elapse; once it
	// is done the timer waits again, for a later one.
	var last, next uint64
	deadline := time.After(hangGuard)
	for last == 0 || next <= first {
		select {
		case sig := <-ch:
			changed := sig.Body[1].(map[string]dbus.Variant)
			if v, ok := changed["LastTrigger"]; ok {
				last = v.Value().(uint64)
			}
			if v, ok := changed["NextElapse"]; ok {
				next = v.Value().(uint64)
			}
		case <-deadline:
			t.Fatalf("no PropertiesChanged for the elapse: LastTrigger %d, NextElapse %d (first %d)", last, next, first)
		}
	}
	if last < first {
		t.Errorf("LastTrigger %d is before the elapse it reports (%d)", last, first)
	}
	wantStatus(t, conn, path, "running")
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestHandEditedDropIn: an admin edits the drop-in and reloads systemd;
// the object follows.
func TestHandEditedDropIn(t *testing.T) {
	conn := connect(t)
	path := createRunning(t, conn, "create", "handedited", "hourly")
	ch := watch(t, conn, path)
	if err := dropin.Write(ns.UnitDirPath(), "snapm-create@handedited.timer", "daily"); err != nil {
		t.Fatal(err)
	}
	inNS(t, "systemctl", "daemon-reload")
	// The edit alone shows at once (TestHandEditNeedsDaemonReload); the
	// reload brings systemd's next elapse.
	waitProps(t, conn, ch, path, map[string]any{"CalendarSpec": "daily", "Normalized": "*-*-* 00:00:00", "NeedDaemonReload": false,
		"Status": "running", "NextElapse": unitProp(t, conn, "snapm-create@handedited.timer", "org.freedesktop.systemd1.Timer", "NextElapseUSecRealtime").Value()})
	mustCall(t, conn, path, timerIf+".Disable")
}

// TestParseCalendarAgreesWithSystemd: the preview equals what the
// namespace's own systemd-analyze says.
func TestParseCalendarAgreesWithSystemd(t *testing.T) {
	conn := connect(t)
	for _, spec := range append(specs, "*-*~03/1,03..05 Europe/Berlin", "Mon..Fri *-*-* 08:00 America/New_York") {
		var normalized string
		var next []uint64
		if err := mustCall(t, conn, rootPath, managerIf+".ParseCalendar", spec, uint32(3)).Store(&normalized, &next); err != nil {
			t.Fatal(err)
		}
		if len(next) != 3 {
			t.Fatalf("%q: ParseCalendar gave %d elapses, want 3: %v", spec, len(next), next)
		}
		base := strconv.FormatUint(next[0]/1e6-1, 10)
		out := inNS(t, "systemd-analyze", "calendar", "--iterations=3", "--base-time=@"+base, "--", spec)
		if !strings.Contains(out, "Normalized form: "+normalized+"\n") {
			t.Errorf("%q: ParseCalendar says %q; systemd-analyze:\n%s", spec, normalized, out)
		}
		for i, usec := range next {
			stamp := time.UnixMicro(int64(usec)).UTC().Format("Mon 2006-01-02 15:04:05 UTC")
			if !strings.Contains(out, stamp) {
				t.Errorf("%q: elapse %d at %s is not in systemd-analyze's answer:\n%s", spec, i+1, stamp, out)
			}
		}
	}
}
