package timers

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"hourly", true},
		{"a", true},
		{"Root:Pool_1.daily-2", true},
		{"0starts-with-digit", true},
		// snapm's limit and its names that start oddly (snapm 0.7's
		// verdicts, service/schedule's table).
		{strings.Repeat("x", 234), true},
		{strings.Repeat("x", 235), false},
		{"", false},
		{".", false},
		{".hidden", true},
		{"-option", true},
		{"..", true},
		{"../x", false},
		{"a/b", false},
		{`a\b`, false},
		{"a b", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\tb", false},
		{"a@b", false},
		{"a%ib", false},
		{"ünïcode", false},
		{"a*", false},
	} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ValidateName(%q) error %v does not wrap ErrInvalidArgument", tc.name, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\x00\t") {
			t.Errorf("ValidateName(%q) error message carries control characters: %q", tc.name, err)
		}
	}
}

func TestParseType(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"create", "gc"} {
		if typ, err := ParseType(s); err != nil || string(typ) != s {
			t.Errorf("ParseType(%q) = %q, %v", s, typ, err)
		}
	}
	for _, s := range []string{"", "Create", "gc ", "snapshot", "../gc"} {
		if _, err := ParseType(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseType(%q) = %v, want ErrInvalidArgument", s, err)
		}
	}
}

func TestParseUnit(t *testing.T) {
	t.Parallel()
	for unit, want := range map[string]Key{
		"snapm-create@hourly.timer": {TypeCreate, "hourly"},
		"snapm-gc@a:b.timer":        {TypeGC, "a:b"},
		"snapm-create@-x.timer":     {TypeCreate, "-x"},
	} {
		if got, ok := ParseUnit(unit); !ok || got != want || got.Unit() != unit {
			t.Errorf("ParseUnit(%q) = %v, %v", unit, got, ok)
		}
	}
	for _, unit := range []string{"snapm-create@hourly.service", "snapm-other@x.timer", "snapm-create@.timer",
		"snapm-create@..timer", "dbus.service", "snapm-create.timer"} {
		if k, ok := ParseUnit(unit); ok {
			t.Errorf("ParseUnit(%q) = %v, want not ours", unit, k)
		}
	}
}

// TestCompareUnits: keys sort as their unit names do, around every place
// where the parts meet ("a" against "a-b" and "a.timer", a name that
// starts like the type's suffix), and on random names.
// Planted bug: ".timer" left out of the comparison; "a" then sorts
// before "a-b".
func TestCompareUnits(t *testing.T) {
	names := []string{"a", "a-b", "a.b", "a.timer", "a.timer.x", "a.tim", "a:b", "a_b", "A", "0", "t00001", "t0001",
		"create", "gc", "@", "a@b", "-", ".", "z"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab.-_:@t0"
	for range 300 {
		b := make([]byte, 1+rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	var keys []Key
	for _, typ := range Types {
		for _, n := range names {
			keys = append(keys, Key{Type: typ, Name: n})
		}
	}
	for _, a := range keys {
		for _, b := range keys {
			if got, want := compareUnits(a, b), strings.Compare(a.Unit(), b.Unit()); got != want {
				t.Fatalf("compareUnits(%s, %s) = %d, want %d", a.Unit(), b.Unit(), got, want)
			}
		}
	}
}
