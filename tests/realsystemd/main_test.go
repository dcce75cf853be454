// Package realsystemd drives snapm-timersd against a real systemd 252 and
// a real system bus, booted in a private namespace: the daemon is installed
// there from the source tree and started by D-Bus activation, exactly as
// on a real system.
package realsystemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

var ns *sysns.NS

func TestMain(m *testing.M) {
	os.Exit(nstest.Run(m, nstest.Suite{Name: "realsystemd", Options: withTestFiles}, &ns))
}

// withTestFiles adds the build that can kill itself at a named step, for
// the fault tests, and the polkit rules of the authorization tests.
func withTestFiles(tmp string, opts *sysns.Options) error {
	crashBin, err := sysns.BuildDaemon(tmp, "crashpoints")
	if err != nil {
		return err
	}
	crashData, err := os.ReadFile(crashBin)
	if err != nil {
		return err
	}
	opts.Files["libexec"][filepath.Base(crashBin)] = crashData
	opts.Modes[filepath.Base(crashBin)] = 0o755
	rules, err := os.ReadFile(filepath.Join("testdata", "50-snapm-test.rules"))
	if err != nil {
		return err
	}
	opts.Files["polkit-rules"] = map[string][]byte{"50-snapm-test.rules": rules}
	return nil
}

// disagreementsSeen is how many disagreeing lines the journal held when a
// test last looked; tests run one at a time.
var disagreementsSeen int

// agreeWithSystemd fails t if the installed daemon logged a disagreement
// of the engine with systemd since the last test looked.
func agreeWithSystemd(t testing.TB) {
	t.Helper()
	lines := nstest.Disagreeing(inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service"))
	if len(lines) > disagreementsSeen {
		t.Errorf("engine and systemd disagree:\n%s", strings.Join(lines[disagreementsSeen:], "\n"))
		disagreementsSeen = len(lines)
	}
}
