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
	code := m.Run()
	// Over everything the suite did, the in-process calendar engine and
	// the real systemd must never have disagreed.
	journal, err := ns.Output(context.Background(), "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading the daemon's journal:", err)
		code = 1
	}
	if !strings.Contains(journal, "ready") {
		fmt.Fprintf(os.Stderr, "the daemon's journal does not show it starting:\n%s\n", journal)
		code = 1
	}
	for _, line := range strings.Split(journal, "\n") {
		if strings.Contains(line, "differs from the engine") || strings.Contains(line, "normalizes the calendar expression differently") {
			fmt.Fprintln(os.Stderr, "engine and systemd disagree:", line)
			code = 1
		}
	}
	if code != 0 {
		// The daemon's side of the story, for whoever reads the failure.
		out, _ := ns.Output(context.Background(), "journalctl", "--no-pager", "-o", "short-precise", "-u", "snapm-timersd.service")
		fmt.Fprintf(os.Stderr, "--- snapm-timersd journal ---\n%s\n", out)
	}
	if err := ns.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "shutting down namespace:", err)
	}
	return code
}
