package realsystemd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

const errPrefix = nstest.ErrPrefix

// hostileNames are refused as timer names: what systemd would escape or
// a path would carry, and what snapm refuses too ("." and past 234
// characters); "..", "-x" and ".x" are snapm's names like any other.
var hostileNames = []string{
	"", strings.Repeat("a", 235), "a/b", "/abs", ".", "../x", "x/../../etc", `a\b`, "a\nb", "a\rb",
	"a\tb", "a\x01b", "a\x1bb", "a\x7fb", "a b", " lead", "trail ", "ünïcode", "日本", "a\u200bb",
	"a@b", "a%b", "a*b", "a?b", "a[b]", "a'b", `a"b`, "a$b", "a;b", "a|b", "a>b",
	"x.timer.d/10-oncalendar.conf",
}

// hostileTypes are refused as timer types.
var hostileTypes = []string{"", "snapshot", "CREATE", "Gc", "create\n", "create/../gc", "gc@", "gc "}

// hostileSpecs are refused as calendar expressions, everywhere one is taken.
var hostileSpecs = []string{
	"", "daily\nUnit=evil.service", "daily\n[Service]\nExecStart=/bin/sh -c evil", "[Service]",
	"daily\r\nUnit=evil.service", "daily\\", "daily \\\nUnit=evil.service", "%H:00", "daily %n", "%%",
	"daily\t", "\x1b[31mdaily", strings.Repeat("*", 64<<10), strings.Repeat("daily,", 11000),
	"25:00", "Mon..Foo", "*-*-* 00:00:00 Not/AZone", "*-*-* 00:00:00 ../../../etc/passwd",
	"daily; rm -rf /", "$(reboot)", "OnCalendar=daily",
}

// TestHostileInput sends the daemon what an attacker (or a buggy
// frontend) would, and checks that each call fails with its named error
// and that nothing changed: not a file under /etc/systemd/system, not a
// timer in systemd, not an object on the bus.
func TestHostileInput(t *testing.T) {
	conn := connect(t)
	victim := createRunning(t, conn, "gc", "hostile-victim", gcSpec)
	gone := create(t, conn, "create", "hostile-gone", "daily")
	removeForGood(t, conn, "create", "hostile-gone", gone)
	objects := func() string {
		var list []dbus.ObjectPath
		if err := mustCall(t, conn, rootPath, managerIf+".ListTimers").Store(&list); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(list)
	}
	beforeObjects := objects()
	before := fingerprint(t, conn)

	type hostile struct {
		path   dbus.ObjectPath
		method string
		args   []any
		want   string
	}
	var calls []hostile
	for _, name := range hostileNames {
		calls = append(calls,
			hostile{rootPath, managerIf + ".CreateTimer", []any{"create", name, "daily"}, errPrefix + "InvalidArgument"},
			hostile{rootPath, managerIf + ".GetTimer", []any{"gc", name}, errPrefix + "InvalidArgument"})
	}
	for _, typ := range hostileTypes {
		calls = append(calls,
			hostile{rootPath, managerIf + ".CreateTimer", []any{typ, "hostile-type", "daily"}, errPrefix + "InvalidArgument"},
			hostile{rootPath, managerIf + ".GetTimer", []any{typ, "hostile-victim"}, errPrefix + "InvalidArgument"})
	}
	for _, spec := range hostileSpecs {
		calls = append(calls,
			hostile{rootPath, managerIf + ".CreateTimer", []any{"create", "hostile-spec", spec}, errPrefix + "InvalidCalendar"},
			hostile{victim, timerIf + ".SetCalendarSpec", []any{spec}, errPrefix + "InvalidCalendar"},
			hostile{rootPath, managerIf + ".ParseCalendar", []any{spec, uint32(3)}, errPrefix + "InvalidCalendar"})
	}
	const invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
	const unknownObject = "org.freedesktop.DBus.Error.UnknownObject"
	calls = append(calls,
		// Wrong D-Bus types and counts.
		hostile{rootPath, managerIf + ".CreateTimer", []any{int32(1), int32(2), int32(3)}, invalidArgs},
		hostile{rootPath, managerIf + ".CreateTimer", []any{"create", "hostile-few"}, invalidArgs},
		hostile{rootPath, managerIf + ".CreateTimer", []any{"create", "hostile-many", "daily", "more"}, invalidArgs},
		hostile{rootPath, managerIf + ".CreateTimer", []any{[]string{"create"}, "x", "daily"}, invalidArgs},
		hostile{rootPath, managerIf + ".RemoveTimer", []any{string(victim)}, invalidArgs},
		hostile{rootPath, managerIf + ".RemoveTimer", []any{}, invalidArgs},
		hostile{rootPath, managerIf + ".ParseCalendar", []any{"daily", "3"}, invalidArgs},
		hostile{rootPath, managerIf + ".ParseCalendar", []any{"daily", uint32(1001)}, errPrefix + "InvalidArgument"},
		hostile{victim, timerIf + ".SetCalendarSpec", []any{int32(42)}, invalidArgs},
		hostile{victim, timerIf + ".SetCalendarSpec", []any{dbus.MakeVariant("daily")}, invalidArgs},
		hostile{victim, timerIf + ".Disable", []any{"now"}, invalidArgs},
		hostile{victim, timerIf + ".Stop", []any{true}, invalidArgs},
		hostile{victim, timerIf + ".Reboot", nil, "org.freedesktop.DBus.Error.UnknownMethod"},
		hostile{victim, propsIf + ".Set", []any{timerIf, "CalendarSpec", dbus.MakeVariant("hourly")}, "org.freedesktop.DBus.Error.PropertyReadOnly"},
		hostile{victim, propsIf + ".Set", []any{timerIf, "Status", dbus.MakeVariant("disabled")}, "org.freedesktop.DBus.Error.PropertyReadOnly"},
		hostile{victim, propsIf + ".Get", []any{timerIf, "Evil"}, "org.freedesktop.DBus.Error.UnknownProperty"},
		hostile{victim, propsIf + ".GetAll", []any{"org.example.Evil"}, "org.freedesktop.DBus.Error.UnknownInterface"},
		// Objects that are gone or never were.
		hostile{gone, timerIf + ".Enable", nil, unknownObject},
		hostile{gone, timerIf + ".Start", nil, unknownObject},
		hostile{gone, timerIf + ".Stop", nil, unknownObject},
		hostile{gone, timerIf + ".Disable", nil, unknownObject},
		hostile{gone, timerIf + ".SetCalendarSpec", []any{"hourly"}, unknownObject},
		hostile{gone, propsIf + ".Get", []any{timerIf, "Status"}, unknownObject},
		hostile{gone, propsIf + ".GetAll", []any{timerIf}, unknownObject},
		hostile{rootPath, managerIf + ".RemoveTimer", []any{gone}, errPrefix + "NoSuchTimer"},
		hostile{rootPath, managerIf + ".RemoveTimer", []any{dbus.ObjectPath("/org/freedesktop/systemd1")}, errPrefix + "NoSuchTimer"},
		hostile{rootPath, managerIf + ".GetTimer", []any{"create", "hostile-gone"}, errPrefix + "NoSuchTimer"},
		hostile{rootPath + "/create/nosuch", timerIf + ".Enable", nil, unknownObject},
		hostile{rootPath + "/create", timerIf + ".Enable", nil, unknownObject},
		hostile{rootPath + "/gc/hostile_2dvictim/deeper", timerIf + ".Disable", nil, unknownObject},
	)
	for _, c := range calls {
		err := call(t, conn, c.path, c.method, c.args...).Err
		if got := errName(err); got != c.want {
			t.Errorf("%s on %s with %.80q: %s (%v), want %s", c.method, c.path, c.args, got, err, c.want)
		}
	}

	// Invalid UTF-8 and NUL inside a string never reach the daemon: the
	// bus drops the sender. The space shows the hand-made path does reach
	// the daemon when the message is well-formed.
	var raw []string
	for _, tc := range []struct {
		corrupt byte
		want    string
	}{
		{0xff, "disconnected"}, {0xc3, "disconnected"}, {0x00, "disconnected"}, {' ', errPrefix + "InvalidArgument"},
	} {
		got := rawCreateTimer(t, marker+"name", tc.corrupt)
		if got != tc.want {
			t.Errorf("CreateTimer with byte %#x in the name: %s, want %s", tc.corrupt, got, tc.want)
		}
		raw = append(raw, fmt.Sprintf("%#x: %s", tc.corrupt, got))
	}

	if after := fingerprint(t, conn); after != before {
		t.Errorf("hostile calls changed the system:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := objects(); after != beforeObjects {
		t.Errorf("hostile calls changed the objects: %s, was %s", after, beforeObjects)
	}
	if got := props(t, conn, victim); got["Status"].Value() != "running" || got["CalendarSpec"].Value() != gcSpec {
		t.Errorf("the victim changed: %v", got)
	}
	t.Logf("%d hostile calls, each refused with its name; %d corrupt messages: %s", len(calls), len(raw), strings.Join(raw, "; "))
}
