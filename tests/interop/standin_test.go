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
