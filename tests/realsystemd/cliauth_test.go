package realsystemd

import (
	"strings"
	"testing"
)

// TestCLIAuthenticationNeeded: for a user polkit would ask for a password
// (bin, AUTH_ADMIN in testdata/50-snapm-test.rules), a change with
// --no-ask-password is refused like any other: exit 4 and one line. Only
// uid 65534, refused outright, was tested; an exit status of 1 here passed
// the suite.
func TestCLIAuthenticationNeeded(t *testing.T) {
	buildCtl(t)
	const id = "create/cli-auth"
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", id) })
	withSchedule(t, "create", "cli-auth", "daily")
	withSchedule(t, "create", "cli-auth2", "daily")
	ctl(t, 0, "create", "create", "cli-auth", "daily")
	for _, args := range [][]string{
		{"enable", id}, {"set-calendar", id, "hourly"}, {"remove", id},
		{"create", "create", "cli-auth2", "daily", "--now"},
	} {
		r := runIn(t, uidAuth, append([]string{ctlInNS, "--no-ask-password"}, args...)...)
		if r.code != 4 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "authentication") {
			t.Errorf("%v as bin: exit %d, stderr %q; want 4 and one line saying authentication is needed", args, r.code, r.stderr)
		}
	}
	if got := ctl(t, 0, "show", id); !strings.Contains(got, "daily") {
		t.Errorf("refused calls changed the timer: %s", got)
	}
}
