package calendar

import (
	"testing"
)

// FuzzParse: the engine never panics, a normalized form parses to itself,
// and computing the next elapse of anything valid terminates.
//
//	go test -fuzz FuzzParse ./service/calendar
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"daily", "Mon..Fri *-*-* 08:00", "*-*~03/1,03..05", "@1493187147 UTC",
		"00:00:1.125..2.125", "2015-10-25 01:00:00 Asia/Vladivostok", "Sat,Thu,Mon-Wed,Sat-Sun", "*:0/15",
		"*-*-1/11 23:00:00 UTC", "weekly Pacific/Auckland", "2024-02-30", "", " UTC", "Mon,", "*-*~1,27"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		spec, err := Parse(expr, utcHost)
		if err != nil {
			return
		}
		normalized := spec.String()
		again, err := Parse(normalized, utcHost)
		if err != nil {
			t.Fatalf("%q normalizes to %q, which does not parse: %v", expr, normalized, err)
		}
		if got := again.String(); got != normalized {
			t.Fatalf("%q normalizes to %q, which normalizes to %q", expr, normalized, got)
		}
		spec.Next(1767225600000000)
	})
}
