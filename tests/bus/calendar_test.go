// Tests of calendar expressions over the bus: NextElapse moving on with a
// PropertiesChanged, and ParseCalendar's answers and named errors.

package bus

import (
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestNextElapseMovesOn: a timer's NextElapse stays in the future; when it
// passes, the property moves on with a PropertiesChanged. No systemd
// involved: the engine computes it for a disabled timer.
func TestNextElapseMovesOn(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	var path dbus.ObjectPath
	e.schedule("ticking", "*:*:0/2")
	if err := e.call(rootPath, managerIf+".CreateTimer", "create", "ticking", "*:*:0/2").Store(&path); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.AddMatchSignal(dbus.WithMatchObjectPath(path), dbus.WithMatchMember("PropertiesChanged")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 10)
	e.conn.Signal(ch)
	first := e.prop(path, "NextElapse").(uint64)
	// A tick may fall between the match and the read; its signal carries
	// what the read already saw, and the next one moves on from there.
	deadline := time.After(hangGuard)
	for {
		select {
		case sig := <-ch:
			next := sig.Body[1].(map[string]dbus.Variant)["NextElapse"].Value().(uint64)
			if next <= first {
				continue
			}
			if next > uint64(time.Now().Add(2*time.Second).UnixMicro()) {
				t.Errorf("NextElapse moved from %d to %d, past the next 2 s step", first, next)
			}
			return
		case <-deadline:
			t.Fatalf("NextElapse %d passed without a PropertiesChanged", first)
		}
	}
}

func TestParseCalendar(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	var normalized string
	var next []uint64
	if err := e.call(rootPath, managerIf+".ParseCalendar", "Sat,Sun 08:05:40 UTC", uint32(3)).Store(&normalized, &next); err != nil {
		t.Fatal(err)
	}
	if normalized != "Sat,Sun *-*-* 08:05:40 UTC" || len(next) != 3 || next[0] <= uint64(time.Now().UnixMicro()) {
		t.Errorf("ParseCalendar = %q %v", normalized, next)
	}
	for i := 1; i < len(next); i++ {
		if d := time.Duration(next[i]-next[i-1]) * time.Microsecond; d != 24*time.Hour && d != 6*24*time.Hour {
			t.Errorf("elapses %d and %d are %v apart", i-1, i, d)
		}
	}
	if err := e.call(rootPath, managerIf+".ParseCalendar", "2024-02-30", uint32(5)).Store(&normalized, &next); err != nil || len(next) != 0 {
		t.Errorf("a valid expression that never elapses: %q %v %v", normalized, next, err)
	}
	for desc, tc := range map[string]struct {
		spec string
		n    uint32
		want string
	}{
		"hour out of range":       {spec: "25:00", n: 1, want: "InvalidCalendar"},
		"a section smuggled in":   {spec: "daily\nUnit=evil.service", n: 1, want: "InvalidCalendar"},
		"too many elapses wanted": {spec: "daily", n: 1001, want: "InvalidArgument"},
	} {
		err := e.call(rootPath, managerIf+".ParseCalendar", tc.spec, tc.n).Err
		if errName(err) != errPrefix+tc.want {
			t.Errorf("%s: ParseCalendar(%q, %d): %v, want %s", desc, tc.spec, tc.n, err, tc.want)
		}
	}
	err := e.call(rootPath, managerIf+".ParseCalendar", "25:00", uint32(1)).Err
	if !strings.Contains(err.Error(), "hour 25 out of range 0..23") {
		t.Errorf("ParseCalendar(25:00) says %q, want the engine's message", err)
	}
}
