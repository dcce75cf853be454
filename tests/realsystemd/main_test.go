// Package realsystemd drives snapm-timersd against a real systemd 252 and
// a real system bus, booted in a private namespace: the daemon is installed
// there from the source tree and started by D-Bus activation, exactly as
// on a real system.
package realsystemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

var ns *sysns.NS

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "realsystemd: these tests boot systemd in a namespace and must run as root")
		return 1
	}
	tmp, err := os.MkdirTemp("", "snapm-realsystemd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The fault tests run a build that can kill itself at a named step.
	crashBin, err := sysns.BuildDaemon(tmp, "crashpoints")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crashData, err := os.ReadFile(crashBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts.Files["libexec"][filepath.Base(crashBin)] = crashData
	opts.Modes[filepath.Base(crashBin)] = 0o755
	rules, err := os.ReadFile(filepath.Join("testdata", "50-snapm-test.rules"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts.Files["polkit-rules"] = map[string][]byte{"50-snapm-test.rules": rules}
	ns, err = sysns.Boot(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Activated here, so that TestLoad, which never activates it, can
	// run on its own too.
	if err := nstest.Activate(context.Background(), ns); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	// Over everything the suite did, the in-process calendar engine and
	// the real systemd must never have disagreed.
	if err := nstest.CheckJournal(context.Background(), ns); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code != 0 {
		// The daemon's side of the story, for whoever reads the failure.
		fmt.Fprintf(os.Stderr, "--- snapm-timersd journal ---\n%s\n", nstest.PreciseJournal(context.Background(), ns))
	}
	if err := ns.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "shutting down namespace:", err)
	}
	return code
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
