package calendar

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

var benchExprs = []string{"hourly", "Mon..Fri *-*-* 08:00", "Sat,Sun 08:05:40", "*-*~03/1,03..05",
	"Thu,Fri *-*-1,5 11:12:13", "*:0/15 Europe/Berlin"}

// perCall times n rounds of fn over the expressions.
func perCall(n int, fn func(i int)) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		fn(i)
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkEngineVsSystemdAnalyze prints what one answer costs in-process
// beside one systemd-analyze call (what the daemon used to fork), both
// measured in the same run:
//
//	go test -run '^$' -bench EngineVsSystemdAnalyze -benchtime 1x -v ./service/calendar
func BenchmarkEngineVsSystemdAnalyze(b *testing.B) {
	berlin, err := LoadZone("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	specs := make([]*Spec, len(benchExprs))
	for i, expr := range benchExprs {
		if specs[i], err = Parse(expr, berlin); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		analyze := perCall(60, func(i int) {
			expr := benchExprs[i%len(benchExprs)]
			if out, err := exec.Command("systemd-analyze", "calendar", "--base-time=@1767225600", "--", expr).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		})
		parse := perCall(60000, func(i int) {
			spec, err := Parse(benchExprs[i%len(benchExprs)], berlin)
			if err != nil {
				b.Fatal(err)
			}
			_ = spec.String()
		})
		next := perCall(60000, func(i int) {
			if _, err := specs[i%len(specs)].Next(1767225600000000 + uint64(i)*7919000000); err != nil {
				b.Fatal(err)
			}
		})
		b.Logf("%-36s %12s %10s", "per call (6 expressions, Berlin)", "time", "speed-up")
		b.Logf("%-36s %12v %10s", "systemd-analyze calendar (fork+exec)", analyze, "1x")
		b.Logf("%-36s %12v %9.0fx", "engine: validate + normalize", parse, float64(analyze)/float64(parse))
		b.Logf("%-36s %12v %9.0fx", "engine: next elapse", next, float64(analyze)/float64(next))
		b.ReportMetric(float64(analyze.Nanoseconds()), "analyze-ns/call")
		b.ReportMetric(float64(parse.Nanoseconds()), "parse-ns/call")
		b.ReportMetric(float64(next.Nanoseconds()), "next-ns/call")
	}
}

// BenchmarkRejection: a rejected expression costs no more than an
// accepted one of the same length, whatever word it misspells, because
// callers with no rights may send them as often as they like (the "did
// you mean" search once cost 30 ms for a 1 KiB word). Each case is beside
// the baseline, an accepted expression of about 1 KiB; the target is at
// most 1 ms per rejection on any machine:
//
//	go test -run '^$' -bench Rejection ./service/calendar
func BenchmarkRejection(b *testing.B) {
	word := strings.Repeat("x", MaxLen-len("08:00 "))
	for _, tc := range []struct{ name, expr string }{
		{"baseline accepted 1KiB", "*-*-* " + strings.Repeat("0,", 500) + "0:00"},
		{"misspelt keyword", "dailly"},
		{"misspelt zone", "08:00 Europe/Berln"},
		{"longest hinted zone", "08:00 Europe/" + strings.Repeat("x", maxHintLen-len("Europe/"))},
		{"1KiB keyword", word + "xxxxxx"},
		{"1KiB zone", "08:00 " + word},
		{"1KiB zone-like", "08:00 " + word[:len(word)-2] + "/x"},
		{"1KiB weekday", "Mon," + word[:len(word)-4] + " 08:00"},
		{"1KiB spaces", strings.Repeat("\u3000", (MaxLen-len("daily"))/3) + "daily"},
	} {
		if len(tc.expr) > MaxLen {
			b.Fatalf("%s: %d bytes, over MaxLen", tc.name, len(tc.expr))
		}
		zoneNames() // once per process, not per call
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Parse(tc.expr, utcHost) //nolint:errcheck // the cost is measured
			}
		})
	}
}
