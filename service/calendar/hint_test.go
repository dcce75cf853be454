package calendar

import (
	"errors"
	"sync"
	"syscall"
	"testing"
)

// A misspelt word is named, with the nearest word the parser knows; what
// is accepted does not change (the corpus and differential tests hold that).
func TestUnknownWordMessages(t *testing.T) {
	for name, tc := range map[string]struct {
		expr, want string
	}{
		"keyword":                 {"hourlly", `unknown calendar keyword "hourlly"; did you mean "hourly"?`},
		"keyword any case":        {"WEEKLYY", `unknown calendar keyword "WEEKLYY"; did you mean "weekly"?`},
		"keyword swapped letters": {"dialy", `unknown calendar keyword "dialy"; did you mean "daily"?`},
		"keyword nothing near":    {"bogus", `unknown calendar keyword "bogus"`},
		"lone weekday":            {"Sunn", `unknown weekday "Sunn"; did you mean "Sun"?`},
		"weekday before a time":   {"Sunn 08:00", `unknown weekday "Sunn" in "Sunn 08:00"; did you mean "Sun"?`},
		"weekday in a range":      {"Mon..Fryday", `unknown weekday "Fryday" in "Mon..Fryday"; did you mean "Friday"?`},
		"weekday in a list":       {"Mon,Tues,Wed 12:00", `unknown weekday "Tues" in "Mon,Tues,Wed 12:00"; did you mean "Tue"?`},
		"keyword with more":       {"daily 08:00", `"daily" stands for a whole expression and takes nothing else in "daily 08:00"`},
		"zone misspelt":           {"Mon 08:00 Europe/Berln", `unknown time zone "Europe/Berln" in "Mon 08:00 Europe/Berln"; did you mean "Europe/Berlin"?`},
		"zone by its city":        {"*-*-* 08:00 berlin", `unknown time zone "berlin" in "*-*-* 08:00 berlin"; did you mean "Europe/Berlin"?`},
		"zone nothing near":       {"08:00 Nowhere/Atall", `unknown time zone "Nowhere/Atall" in "08:00 Nowhere/Atall"`},
		"long zone misspelt":      {"08:00 America/Argentina/ComodRivadavya", `unknown time zone "America/Argentina/ComodRivadavya" in "08:00 America/Argentina/ComodRivadavya"; did you mean "America/Argentina/ComodRivadavia"?`},
		"leading space":           {" daily", `leading space in " daily"; did you mean "daily"?`},
		"trailing space":          {"daily ", `trailing space in "daily "; did you mean "daily"?`},
		"trailing no-break space": {"Mon 08:00\u00a0", `trailing no-break space (U+00A0) in "Mon 08:00\u00a0"; did you mean "Mon 08:00"?`},
		"ideographic space":       {"Mon\u300008:00", `ideographic space (U+3000) at offset 3 in "Mon\u300008:00"; did you mean "Mon 08:00"?`},
		"next-line character":     {"daily\u0085", `trailing next-line character (U+0085) in "daily\u0085"; did you mean "daily"?`},
		"zero-width space":        {"\u200bhourly", `leading zero-width space (U+200B) in "\u200bhourly"; did you mean "hourly"?`},
		"odd space, more wrong":   {"Mon\u2003dailly", `em space (U+2003) at offset 3 in "Mon\u2003dailly"; only a plain space (U+0020) separates the parts`},
		"space and a misspelling": {" dailly", `leading space in " dailly"`},
		"not a word: kept":        {"2024-01-01 x", `expected a number for the hour at offset 11 ("x") in "2024-01-01 x"`},
		"known words: kept":       {"Fri..Mon", `weekday range ends before it starts (Mon) in "Fri..Mon"`},
	} {
		_, err := Parse(tc.expr, utcHost)
		var e *Error
		if !errors.As(err, &e) || e.Errno != syscall.EINVAL || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse(%q) = %v, want an EINVAL *Error", name, tc.expr, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: Parse(%q):\n got %s\nwant %s", name, tc.expr, err, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for name, tc := range map[string]struct {
		a, b string
		want int
	}{
		"same":         {"daily", "daily", 0},
		"insertion":    {"hourlly", "hourly", 1},
		"swap":         {"dialy", "daily", 1},
		"substitution": {"weakly", "weekly", 1},
		"empty":        {"", "abc", 3},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: distance(%q, %q) = %d, want %d", name, tc.a, tc.b, got, tc.want)
		}
	}
}

// TestHintsConcurrently: the daemon parses callers' expressions at the
// same time; the hints share one list of zones, which no call may write
// (go test -race).
func TestHintsConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Parse("*-*-* 08:00 Berlinn", utcHost); err == nil {
				t.Error("an unknown zone parsed")
			}
		}()
	}
	wg.Wait()
}
