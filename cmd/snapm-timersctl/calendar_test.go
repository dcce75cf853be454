package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/tests/calcorpus"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

// zonedService stands in for the service on a real bus, answering
// ParseCalendarAt with the calendar engine in its own zone, as the daemon
// does (tests/realsystemd runs the CLI against the real one).
type zonedService struct{ engine calendar.Engine }

func (s zonedService) ParseCalendarAt(spec string, base uint64, n uint32) (string, []uint64, *dbus.Error) {
	normalized, next, err := s.engine.Elapses(spec, time.UnixMicro(int64(base)), int(n))
	if err != nil {
		return "", nil, dbus.NewError("com.redhat.Snapm.Timers.Error.InvalidCalendar", []any{err.Error()})
	}
	return normalized, append([]uint64{}, next...), nil
}

// serveCalendar puts a service in zone on a private bus for the CLI.
func serveCalendar(t *testing.T, zone *calendar.Zone) {
	addr := testbus.Start(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claiming %s: %v %v", busName, reply, err)
	}
	if err := conn.Export(zonedService{calendar.Engine{Host: zone}}, rootPath, managerIface); err != nil {
		t.Fatal(err)
	}
}

// runCtl runs the CLI as main does, in the caller's zone tz ($TZ).
func runCtl(t *testing.T, tz string, args ...string) (string, string, int) {
	t.Setenv("TZ", tz)
	a, out, errOut := testApp(t, false, nil)
	a.dial, a.now, a.zone = nil, time.Now, calendar.HostZone
	code := a.run(context.Background(), append([]string{"--no-ask-password"}, args...))
	return out.String(), errOut.String(), code
}

func runAnalyze(t *testing.T, tz string, args ...string) (string, int) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze (systemd 252) is what calendar is held against:", err)
	}
	cmd := exec.Command(analyze, append([]string{"calendar"}, args...)...)
	cmd.Env = append(os.Environ(), "TZ="+tz, "SYSTEMD_COLORS=0", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	err = cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// With the caller's TZ in any zone, calendar prints what systemd-analyze
// calendar prints with that TZ, byte for byte but for "From now", on
// every row of the corpus, whatever the service's zone (UTC here).
func TestCalendarMatchesSystemdAnalyzeInEveryZone(t *testing.T) {
	valid, invalid, err := calcorpus.Expressions(filepath.Join("..", "..", "service", "calendar", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	serveCalendar(t, calendar.UTC)
	for _, tz := range []string{":UTC", ":Europe/Berlin", ":America/New_York", ":Australia/Lord_Howe"} {
		for _, base := range []string{"@1767225600", "@1774746000", "2024-03-31 00:30:00 UTC"} {
			args := append([]string{"--iterations=3", "--base-time=" + base, "--"}, valid...)
			ours, stderr, code := runCtl(t, tz, append([]string{"calendar"}, args...)...)
			theirs, theirCode := runAnalyze(t, tz, args...)
			if code != 0 || theirCode != 0 {
				t.Fatalf("TZ=%s base %s: exit %d, systemd-analyze %d; stderr %q", tz, base, code, theirCode, stderr)
			}
			if got, want := calcorpus.Comparable(ours), calcorpus.Comparable(theirs); got != want {
				t.Errorf("TZ=%s base %s: calendar differs from systemd-analyze calendar at line %s", tz, base, calcorpus.FirstDiff(got, want))
			}
		}
		for _, expr := range invalid {
			ours, stderr, code := runCtl(t, tz, "calendar", "--", expr)
			theirs, theirCode := runAnalyze(t, tz, "--", expr)
			// Rejected in UTC, some are the caller's zone abbreviations.
			if code != theirCode || calcorpus.Comparable(ours) != theirs || code != 0 && !strings.HasPrefix(stderr, "Failed to parse calendar specification") {
				t.Errorf("TZ=%s %q: exit %d, stdout %q, stderr %q; systemd-analyze: exit %d, stdout %q", tz, expr, code, ours, stderr, theirCode, theirs)
			}
		}
	}
	t.Logf("%d valid expressions at 3 base times, %d invalid ones, in 4 zones", len(valid), len(invalid))
}

// Where the service's zone gives other times than the caller's, they
// follow as "Timer elapses" lines, in the caller's zone; where it gives
// the same, nothing is added. The case: weekly in Berlin, the
// service in UTC.
func TestCalendarShowsWhenTimersElapse(t *testing.T) {
	serveCalendar(t, calendar.UTC)
	args := []string{"calendar", "--iterations=2", "--base-time=@1774742400", "weekly"}
	out, stderr, code := runCtl(t, ":Europe/Berlin", args...)
	want := `  Original form: weekly
Normalized form: Mon *-*-* 00:00:00
    Next elapse: Mon 2026-03-30 00:00:00 CEST
       (in UTC): Sun 2026-03-29 22:00:00 UTC
       From now: X
       Iter. #2: Mon 2026-04-06 00:00:00 CEST
       (in UTC): Sun 2026-04-05 22:00:00 UTC
       From now: X
  Timer elapses: Mon 2026-03-30 02:00:00 CEST
  Timer elapses: Mon 2026-04-06 02:00:00 CEST
`
	if code != 0 || withFromNowX(out) != want {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, out, want)
	}
	if out, _, _ := runCtl(t, ":UTC", args...); strings.Contains(out, "Timer elapses") {
		t.Errorf("in the service's own zone:\n%s", out)
	}
}

func withFromNowX(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if k := strings.Index(l, "From now: "); k >= 0 {
			lines[i] = l[:k] + "From now: X\n"
		}
	}
	return strings.Join(lines, "")
}
