package interop

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// dropInSpec is the calendar in the drop-in snapm (and the daemon) keep
// for unit, "" without one: the last OnCalendar= line.
func dropInSpec(t testing.TB, unit string) string {
	t.Helper()
	data, err := os.ReadFile(ns.UnitDirPath(unit+".d", "10-oncalendar.conf"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	spec := ""
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "OnCalendar="); ok {
			spec = v
		}
	}
	return spec
}

// yesNo is a boolean as snapm prints it.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// wantBusAsSnapm fails t unless the Schedule object at path says what the
// file and snapm say of schedule name: every field of the file, and
// Enabled, Running and NextElapse as snapm computes them.
func wantBusAsSnapm(t testing.TB, conn *dbus.Conn, name string, path dbus.ObjectPath) {
	t.Helper()
	file := readSchedule(t, name)
	show := snapmShow(t, name)
	bus := scheduleProps(t, conn, path)
	policy := map[string]uint32{}
	for k, v := range file.GcPolicy {
		if strings.HasPrefix(k, "keep_") {
			policy[k] = uint32(v.(float64))
		}
	}
	size := ""
	if file.DefaultSizePolicy != nil {
		size = *file.DefaultSizePolicy
	}
	var next string
	if usec, _ := bus["NextElapse"].Value().(uint64); usec != 0 {
		next = time.UnixMicro(int64(usec)).Format(time.DateTime)
	}
	for _, c := range []struct {
		prop      string
		got, want any
	}{
		{"Name", bus["Name"].Value(), file.Name},
		{"Sources", bus["Sources"].Value(), file.Sources},
		{"DefaultSizePolicy", bus["DefaultSizePolicy"].Value(), size},
		{"Autoindex", bus["Autoindex"].Value(), file.Autoindex},
		{"Boot", bus["Boot"].Value(), file.Boot},
		{"Revert", bus["Revert"].Value(), file.Revert},
		{"CalendarSpec", bus["CalendarSpec"].Value(), file.CalendarSpec},
		{"GcPolicyType", bus["GcPolicyType"].Value(), file.GcPolicy["policy_type"]},
		{"GcPolicyParams", bus["GcPolicyParams"].Value(), policy},
		{"Enabled (snapm show)", yesNo(bus["Enabled"].Value() == true), show["Enabled"]},
		{"Running (snapm show)", yesNo(bus["Running"].Value() == true), show["Running"]},
		{"NextElapse (snapm show)", next, show["NextElapse"]},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("schedule %s: %s on the bus is %v, snapm's is %v", name, c.prop, c.got, c.want)
		}
	}
	for prop, typ := range map[string]string{"CreateTimer": "create", "GcTimer": "gc"} {
		if timer, _ := timerProps(t, conn, typ, name); bus[prop].Value() != timer {
			t.Errorf("schedule %s: %s is %v, the %s timer is %s", name, prop, bus[prop].Value(), typ, timer)
		}
	}
}

// wantSnapmAsBus fails t unless `snapm schedule show` says of schedule
// name what its Schedule object says, field by field.
func wantSnapmAsBus(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	bus := scheduleProps(t, conn, getSchedule(t, conn, name))
	show := snapmShow(t, name)
	size := bus["DefaultSizePolicy"].Value().(string)
	if size == "" {
		size = "None"
	}
	var params []string
	for k, v := range bus["GcPolicyParams"].Value().(map[string]uint32) {
		if v != 0 {
			params = append(params, fmt.Sprintf("%s=%d", k, v))
		}
	}
	slices.Sort(params)
	shown := strings.Split(show["Params"], ", ")
	if show["Params"] == "" {
		shown = nil
	}
	slices.Sort(shown)
	typ := bus["GcPolicyType"].Value().(string)
	for _, c := range []struct{ field, got, want string }{
		{"Name", show["Name"], name},
		{"Sources", show["Sources"], strings.Join(bus["Sources"].Value().([]string), ", ")},
		{"DefaultSizePolicy", show["DefaultSizePolicy"], size},
		{"Calendarspec", show["Calendarspec"], bus["CalendarSpec"].Value().(string)},
		{"Boot", show["Boot"], yesNo(bus["Boot"].Value().(bool))},
		{"Revert", show["Revert"], yesNo(bus["Revert"].Value().(bool))},
		{"Type", show["Type"], typ[:1] + strings.ToLower(typ[1:])},
		{"Params", strings.Join(shown, ", "), strings.Join(params, ", ")},
		{"Enabled", show["Enabled"], yesNo(bus["Enabled"].Value().(bool))},
		{"Running", show["Running"], yesNo(bus["Running"].Value().(bool))},
	} {
		if c.got != c.want {
			t.Errorf("snapm schedule show %s: %s: %q, the bus says %q", name, c.field, c.got, c.want)
		}
	}
}

// wantAgreement fails t unless, once a follow time and the settle time
// have passed (an invalid state a race left is shown only after the
// settle time), the bus and the disk tell one story of schedule name: the schedule and its
// timers exist on the bus exactly while its file does, with the file's
// fields, snapm's view of its state, and a drop-in with its calendar; and
// when it is gone, nothing of it is left enabled, running or on disk.
// It returns whether the schedule exists.
func wantAgreement(t testing.TB, conn *dbus.Conn, name string) bool {
	t.Helper()
	time.Sleep(follow + settleTime)
	create := "snapm-create@" + name + ".timer"
	gc := "snapm-gc@" + name + ".timer"
	_, err := os.Stat(schedulePath(name))
	if errors.Is(err, os.ErrNotExist) {
		if left := ofSchedule(t, conn, name); len(left) > 0 {
			t.Errorf("schedule %s: no file, but on the bus: %v", name, left)
		}
		for _, unit := range []string{create, gc} {
			for _, verb := range []string{"is-enabled", "is-active"} {
				if out, _ := ns.Output(testCtx(t), "systemctl", verb, unit); strings.TrimSpace(out) == "enabled" || strings.TrimSpace(out) == "active" {
					t.Errorf("schedule %s: no file, but systemctl %s %s says %s", name, verb, unit, strings.TrimSpace(out))
				}
			}
			if exists(ns.UnitDirPath(unit + ".d")) {
				t.Errorf("schedule %s: no file, but %s.d is left", name, unit)
			}
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	wantBusAsSnapm(t, conn, name, getSchedule(t, conn, name))
	file := readSchedule(t, name)
	_, props := timerProps(t, conn, "create", name)
	if props["CalendarSpec"].Value() != file.CalendarSpec {
		t.Errorf("schedule %s: the create timer's CalendarSpec is %v, the file's %q", name, props["CalendarSpec"].Value(), file.CalendarSpec)
	}
	if spec := dropInSpec(t, create); spec != "" && spec != file.CalendarSpec {
		t.Errorf("schedule %s: the drop-in's calendar is %q, the file's %q", name, spec, file.CalendarSpec)
	}
	return true
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// createSchedule calls the Manager's CreateSchedule and deletes the
// schedule at the end of t if it is still there.
func createSchedule(t testing.TB, conn *dbus.Conn, name string, sources []string, spec string, opts map[string]any) dbus.ObjectPath {
	t.Helper()
	deleteAtEnd(t, name)
	var path dbus.ObjectPath
	if err := mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".CreateSchedule", name, sources, spec, variants(opts)).Store(&path); err != nil {
		t.Fatal(err)
	}
	return path
}

// variants is an a{sv} argument.
func variants(opts map[string]any) map[string]dbus.Variant {
	v := make(map[string]dbus.Variant, len(opts))
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v[k] = dbus.MakeVariant(opts[k])
	}
	return v
}
