package timers

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dropin"
)

// FuzzMethodArguments drives the validation every method argument goes
// through (CreateTimer's type, name and expression; SetCalendarSpec's and
// ParseCalendar's expression) and checks what the daemon relies on: a
// refusal is always one of the named errors, and whatever is accepted can
// only ever name its own drop-in and its own unit, and cannot smuggle a line
// or a specifier into a unit file. (Its object path is buslabel's concern,
// fuzzed there for every string.)
func FuzzMethodArguments(f *testing.F) {
	for _, seed := range [][3]string{
		{"create", "daily", "daily"},
		{"gc", "a:b_c.d-e", "Mon..Fri 08:00 Europe/Berlin"},
		{"create", "../../etc/passwd", "daily"},
		{"create", "a/b", "daily"},
		{"gc", "..", "daily"},
		{"create", `a\b`, "daily"},
		{"create", "x", "daily\nUnit=evil.service"},
		{"create", "x", "daily\n[Service]\nExecStart=/bin/sh"},
		{"create", "x", "%H:00"},
		{"create", "x", "daily \\"},
		{"snapshot", "x", "daily"},
		{"create", "ünï", "hourly"},
		{"create", "-x", "hourly"},
		{"create", ".x", "hourly"},
		{"create", "x", "\xff\xfe"},
		{"create", "x", "*-*-* 00:00:00 UTC"},
	} {
		f.Add(seed[0], seed[1], seed[2], uint32(3))
	}
	host, err := calendar.ZoneFromTZ("UTC0")
	if err != nil {
		f.Fatal(err)
	}
	unitDir := f.TempDir()
	m := NewManager(Config{Calendar: calendar.Engine{Host: host}, Log: zap.NewNop(), UnitDir: unitDir, StateDir: f.TempDir()})
	named := func(err error) bool {
		return errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrInvalidCalendar)
	}
	f.Fuzz(func(t *testing.T, typ, name, spec string, n uint32) {
		key, err := m.CheckNew(typ, name, spec, 0)
		if err != nil && !named(err) {
			t.Fatalf("CheckNew(%q, %q, %q): unnamed error %v", typ, name, spec, err)
		}
		if _, _, err := m.ParseCalendar("fuzz", spec, n); err != nil && !named(err) {
			t.Fatalf("ParseCalendar(%q, %d): unnamed error %v", spec, n, err)
		}
		if err != nil {
			return
		}
		unit := key.Unit()
		if back, ok := ParseUnit(unit); !ok || back != key {
			t.Fatalf("unit %q of %v parses back as %v %t", unit, key, back, ok)
		}
		if dir := dropin.Dir(unitDir, unit); filepath.Dir(dir) != unitDir || filepath.Base(dir) != unit+".d" {
			t.Fatalf("drop-in of %v would be %s, outside %s", key, dir, unitDir)
		}
		// Unit files treat newlines, backslashes (continuations) and %
		// (specifiers) specially; none may reach OnCalendar=.
		if strings.ContainsAny(spec, "\n\r\\%") || strings.ContainsFunc(spec, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted expression %q would not stay one plain OnCalendar= value", spec)
		}
	})
}
