package calendar

import (
	"errors"
	"strings"
	"testing"
)

// Behaviour of 252 that a reading of systemd.time(7) would not predict,
// each found by the differential test and pinned here.
func TestQuirksOf252(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, normalized string }{
		{"*-*~27", "*-*~27 00:00:00"},
		{"*-*~1,25", "*-*~01,25 00:00:00"},
		{"*-*~1,26", ""}, // each further '~' value loses three more days
		{"*-*~1,27", ""},
		{"03:00,15:00", "*-*-* 03:00,15:00"},    // hour 3, minutes 0 and 15: not 3 pm
		{"*:*/15", ""},                          // write *:0/15
		{"*:30/30", ""},                         // repeats are not modular
		{"@ 100000", "1970-01-02 03:46:40 UTC"}, // strtoul skips blanks
		{"*:*:0.9999995", "*-*-* *:*:01"},       // the seventh digit rounds
		{"daily  UTC", ""},                      // one space before the zone
	} {
		spec, err := Parse(tc.expr, utcHost)
		switch {
		case tc.normalized == "" && err == nil:
			t.Errorf("Parse(%q) = %q, want an error", tc.expr, spec)
		case tc.normalized != "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.expr, err)
		case tc.normalized != "" && spec.String() != tc.normalized:
			t.Errorf("Parse(%q) = %q, want %q", tc.expr, spec, tc.normalized)
		}
	}
}

// Messages say what is wrong and where.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		"25:00":         `hour 25 out of range 0..23 in "25:00"`,
		"*-02-30 12:60": `minute 60 out of range 0..59`,
		"Mon..Fryday":   `unknown weekday "Fryday"`,
		"12:00 ":        `trailing space in "12:00 "; did you mean "12:00"?`,
		"*-*-1/0":       `the day repeats every 0`,
		"bogus":         `unknown calendar keyword "bogus"`,
		"":              `no calendar expression`,
		"2024-01-01 x":  `expected a number for the hour at offset 11`,
	} {
		_, err := Parse(expr, utcHost)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v, want it to contain %q", expr, err, want)
		}
	}
}
