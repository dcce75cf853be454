package interop

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// The sandbox's stand-in for snapm fails as the real snapm does, word for
// word and with its exit status, for a schedule that does not exist, in
// both commands the template units run; and succeeds where snapm finds
// the schedule.
func TestStandInFailsAsSnapm(t *testing.T) {
	const name = "standin"
	deleteAtEnd(t, name)
	check := func(args ...string) {
		t.Helper()
		real := trySnapm(t, args...)
		cmd := ns.Command(testCtx(t), append([]string{"sh", "-c", sysns.SnapmStandIn, "snapm"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		status := 0
		var exit *exec.ExitError
		if err := cmd.Run(); errors.As(err, &exit) {
			status = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != real.Status || (status != 0 && lastLine(stderr.String()) != lastLine(real.Stderr)) {
			t.Errorf("snapm %s: the stand-in exits %d, %q; the real snapm %d, %q",
				strings.Join(args, " "), status, lastLine(stderr.String()), real.Status, lastLine(real.Stderr))
		}
	}
	check("snapset", "create-scheduled", "-c", name)
	check("schedule", "gc", "-c", name)
	snapm(t, "schedule", "create", "--policy-type", "all", "--calendarspec", "hourly", name, "/")
	check("schedule", "gc", "-c", name)
}

// The template units, as their timers start them, run the real snapm from
// the namespace's PATH: gc of a schedule snapm made succeeds, and a
// create of a schedule that does not exist fails in snapm's words.
func TestUnitsRunTheRealSnapm(t *testing.T) {
	const name = "units"
	deleteAtEnd(t, name)
	snapm(t, "schedule", "create", "--policy-type", "count", "--keep-count", "1", "--calendarspec", "hourly", name, "/")
	for _, c := range []struct{ unit, result, line string }{
		{"snapm-gc@" + name + ".service", "success", ""},
		{"snapm-create@no-" + name + ".service", "exit-code", "No schedule configuration matching 'no-" + name + "' found."},
	} {
		ns.Output(testCtx(t), "systemctl", "start", c.unit) // a failed run is read below
		out, err := ns.Output(testCtx(t), "systemctl", "show", "-P", "Result", c.unit)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out); got != c.result {
			t.Errorf("%s: Result=%s, want %s", c.unit, got, c.result)
		}
		journal, err := ns.Output(testCtx(t), "journalctl", "--no-pager", "-o", "cat", "-u", c.unit)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(journal, c.line) {
			t.Errorf("%s: the journal lacks %q:\n%s", c.unit, c.line, journal)
		}
	}
}
