package realsystemd

import (
	"slices"
	"strings"
	"testing"

	dbuspolicy "github.com/snapm/snapm-timersd/dbus-policy"
	introspection "github.com/snapm/snapm-timersd/introspection-xml"
)

// TestEveryMethodAsNobody holds the installed bus policy and the daemon to
// dbuspolicy.OpenToAll: uid 65534, with no polkit rule for the timer, gets
// an answer from every open method and the daemon's own refusal (never
// the bus's "Rejected send message") from every other method declared in
// introspection-xml/.
func TestEveryMethodAsNobody(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "create", "nobody-calls", "daily")
	doomed := create(t, conn, "create", "nobody-doomed", "daily")
	// Schedules for the calls that would make or remove one: the daemon
	// must refuse them for want of rights, not of a schedule.
	withSchedule(t, "create", "nobody-made", "daily")
	withSchedule(t, "create", "nobody-doomed-sched", "daily")
	sched := rootPath + "/schedule/nobody_2dcalls"
	doomedSched := rootPath + "/schedule/nobody_2ddoomed_2dsched"
	t.Cleanup(func() {
		call(t, conn, rootPath, managerIf+".RemoveTimer", path)
		call(t, conn, rootPath, managerIf+".RemoveTimer", doomed)
	})
	// Arguments each method would succeed with, as gdbus takes them; a
	// method the XML declares and this table lacks fails.
	args := map[string][]string{
		"Introspect": nil, "Ping": nil, "GetMachineId": nil, "GetManagedObjects": nil,
		"Get": {timerIf, "Status"}, "GetAll": {timerIf},
		"CreateTimer":          {"create", "nobody-made", "daily"},
		"CreateTimerWithFlags": {"create", "nobody-made", "daily", "1"},
		"GetTimer":             {"create", "nobody-calls"},
		"ListTimers":           nil,
		"RemoveTimer":          {string(doomed)},
		"ParseCalendar":        {"daily", "2"},
		"ParseCalendarAt":      {"daily", "1700000000000000", "2"},
		"Enable":               nil, "Start": nil, "Stop": nil, "Disable": nil, "RunNow": nil,
		"SetCalendarSpec": {"weekly"},
		"CreateSchedule":  {"nobody-new", "['/']", "daily", "{'policy_type': <'all'>}"},
		"DeleteSchedule":  {string(doomedSched)},
		"GetSchedule":     {"nobody-calls"},
		"ListSchedules":   nil,
		// The Schedule interface's members, where they differ from the
		// Timer's of the same name.
		scheduleIf + ".Enable": {"true"},
		scheduleIf + ".Edit":   {"{'autoindex': <false>}"},
	}
	methods := []string{"org.freedesktop.DBus.Introspectable.Introspect", "org.freedesktop.DBus.Peer.Ping",
		"org.freedesktop.DBus.Peer.GetMachineId", propsIf + ".Get", propsIf + ".GetAll",
		"org.freedesktop.DBus.ObjectManager.GetManagedObjects"}
	declared, err := introspection.Methods()
	if err != nil {
		t.Fatal(err)
	}
	methods = append(methods, declared...)
	before := fingerprint(t, conn)
	for _, method := range methods {
		member := method[strings.LastIndexByte(method, '.')+1:]
		a, ok := args[method]
		if !ok {
			a, ok = args[member]
		}
		if !ok {
			t.Errorf("%s is declared; this test does not know how to call it", method)
			continue
		}
		obj := rootPath
		switch {
		case strings.HasPrefix(method, timerIf+".") || strings.HasPrefix(method, propsIf+"."):
			obj = path
		case strings.HasPrefix(method, scheduleIf+"."):
			obj = sched
		}
		_, err := gdbusAs(t, 65534, false, obj, method, a...)
		switch open := slices.Contains(dbuspolicy.OpenToAll, method); {
		case err != nil && strings.Contains(err.Error(), "Rejected send message"):
			t.Errorf("%s as uid 65534: the bus refused it: %v", method, err)
		case open && err != nil:
			t.Errorf("%s is open to all, but uid 65534 got %v", method, err)
		case !open && (err == nil || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.AccessDenied")):
			t.Errorf("%s as uid 65534 with no polkit rule: %v, want the daemon's AccessDenied", method, err)
		}
	}
	if after := fingerprint(t, conn); after != before {
		t.Errorf("uid 65534's calls changed the unit directory or systemd:\nbefore %s\nafter  %s", before, after)
	}
	// Its schedule file's timer, unclaimed, is all there may be.
	if left := traces(t, conn, "create", "nobody-made"); slices.ContainsFunc(left, func(s string) bool { return s != "GetTimer answers " }) {
		t.Errorf("uid 65534 created a timer: %q", left)
	}
	if err := call(t, conn, rootPath, managerIf+".GetSchedule", "nobody-new").Err; err == nil {
		t.Error("uid 65534 created a schedule")
	}
}
