package realsystemd

import (
	"strings"
	"testing"
	"time"
)

// The CLI says what is true of timers systemd really runs: no next run for
// a stopped timer, the reload warning after a hand edit, every timer found
// shown when another is missing, patterns as systemctl's, and a warning
// for a calendar that will never elapse.
// Planted bugs: NextElapse shown whatever Running says; status stopping
// at the first missing timer; the reload warning never printed; the
// past-calendar warning never printed.
func TestCLISaysWhatIsTrue(t *testing.T) {
	conn := connect(t)
	const stopped, live = "create/cli-truth-stopped", "create/cli-truth-live"
	create(t, conn, "create", "cli-truth-stopped", "daily")
	ctl(t, 0, "enable", stopped)
	createRunning(t, conn, "create", "cli-truth-live", "*:0/5")

	row := func(out, id string) []string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); strings.Contains(l, " "+id+" ") && len(f) > 2 {
				return f
			}
		}
		t.Fatalf("no row for %s in:\n%s", id, out)
		return nil
	}
	out := ctl(t, 0, "list", "snapm-create@cli-truth-*")
	if f := row(out, stopped); f[0] != "-" || f[1] != "-" {
		t.Errorf("a stopped timer shows a next run:\n%s", out)
	}
	if f := row(out, live); f[0] == "-" {
		t.Errorf("a running timer shows no next run:\n%s", out)
	}
	if strings.Count(out, "cli-truth-") != 2 || !strings.Contains(out, "2 timers listed.") {
		t.Errorf("list 'snapm-create@cli-truth-*' lists other timers:\n%s", out)
	}

	r := runIn(t, 0, ctlInNS, "status", "create/cli-truth-nosuch", stopped)
	if r.code != 5 || !strings.Contains(r.stdout, "● "+stopped) || !strings.Contains(r.stdout, "Next elapse: -") ||
		!strings.HasPrefix(r.stderr, "Failed to look up create/cli-truth-nosuch:") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("status NOSUCH STOPPED: exit %d, stdout %q, stderr %q; want 5, STOPPED shown, one line for NOSUCH", r.code, r.stdout, r.stderr)
	}

	writeDropInAsSnapm(t, "snapm-create@cli-truth-live.timer", "minutely")
	// The daemon sees the edit within a second (its inotify watch).
	deadline := time.Now().Add(5 * time.Second)
	for r = runIn(t, 0, ctlInNS, "status", "create/cli-truth-live"); r.stderr == "" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		r = runIn(t, 0, ctlInNS, "status", "create/cli-truth-live")
	}
	warning := "Warning: The unit file, source configuration file or drop-ins of snapm-create@cli-truth-live.timer changed on disk. Run 'systemctl daemon-reload' to reload units.\n"
	if r.code != 0 || r.stderr != warning {
		t.Errorf("status after a hand edit: exit %d, stderr %q; want the warning\n%s", r.code, r.stderr, warning)
	}
	// As systemctl start and stop warn too.
	for _, verb := range []string{"stop", "start"} {
		if r := runIn(t, 0, ctlInNS, verb, live); r.code != 0 || r.stderr != warning {
			t.Errorf("%s after a hand edit: exit %d, stderr %q; want the warning", verb, r.code, r.stderr)
		}
	}
	inNS(t, "systemctl", "daemon-reload")

	// A calendar with no elapse left is valid, yet the timer never fires.
	withSchedule(t, "create", "cli-truth-past", "2020-01-01")
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", "create/cli-truth-past") })
	never := "Warning: calendar '2020-01-01' is entirely in the past: the timer will never elapse (systemd-analyze calendar: \"Next elapse: never\").\n"
	for _, args := range [][]string{{"create", "create", "cli-truth-past", "2020-01-01"}, {"set-calendar", "create/cli-truth-past", "2020-01-01"}} {
		if r := runIn(t, 0, append([]string{ctlInNS}, args...)...); r.code != 0 || r.stderr != never {
			t.Errorf("%v: exit %d, stderr %q; want 0 and\n%s", args, r.code, r.stderr, never)
		}
	}
	if r := runIn(t, 0, ctlInNS, "set-calendar", "create/cli-truth-past", "daily"); r.code != 0 || r.stderr != "" {
		t.Errorf("set-calendar daily: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
}
