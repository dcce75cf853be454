package realsystemd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// TestCLICompletion: the bash completion, as make install installs it,
// completes verbs, and timer names from the live daemon.
func TestCLICompletion(t *testing.T) {
	buildCtl(t)
	conn := connect(t)
	create(t, conn, "create", "completed", "daily")
	create(t, conn, "gc", "completed-too", gcSpec)
	// Its text, not its path: the namespace's /tmp, where a clone may
	// live, is its own.
	script, err := os.ReadFile(filepath.Join(sysns.RepoRoot(), "shell-completion", "bash", "snapm-timersctl"))
	if err != nil {
		t.Fatal(err)
	}
	complete := func(line ...string) []string {
		t.Helper()
		// The words as bash splits them, the last one being completed;
		// the CLI on PATH as installed.
		words := "snapm-timersctl"
		for _, w := range line {
			words += " '" + w + "'"
		}
		prog := `source /usr/share/bash-completion/bash_completion && eval "$1" &&
			ln -sf ` + ctlInNS + ` /tmp/snapm-timersctl && PATH=/tmp:$PATH &&
			COMP_WORDS=(` + words + `) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) &&
			COMP_LINE="${COMP_WORDS[*]}" && COMP_POINT=${#COMP_LINE} &&
			_snapm_timersctl && printf '%s\n' "${COMPREPLY[@]}"`
		r := runIn(t, 0, "bash", "-c", prog, "bash", string(script))
		if r.code != 0 {
			t.Fatalf("completing %q: exit %d: %s", line, r.code, r.stderr)
		}
		return strings.Fields(r.stdout)
	}
	if got := complete("st"); !slices.Equal(got, []string{"status", "start", "stop"}) && !slices.Equal(got, []string{"start", "status", "stop"}) {
		t.Errorf("verbs for st: %q", got)
	}
	got := complete("status", "")
	for _, want := range []string{"create/completed", "gc/completed-too", "completed", "completed-too"} {
		if !slices.Contains(got, want) {
			t.Errorf("timers completed for status: %q, want %s among them", got, want)
		}
	}
	if got := complete("create", "g"); !slices.Equal(got, []string{"gc"}) {
		t.Errorf("types for create g: %q", got)
	}
	if got := complete("show", "-p", "NeedD"); !slices.Equal(got, []string{"NeedDaemonReload"}) {
		t.Errorf("properties for NeedD: %q", got)
	}
	if got := complete("schedule", "ed"); !slices.Equal(got, []string{"edit"}) {
		t.Errorf("schedule subcommands for ed: %q", got)
	}
	if got := complete("schedule", "create", "x", "--policy-type=ti"); !slices.Equal(got, []string{"timeline"}) {
		t.Errorf("policy types for ti: %q", got)
	}
	if got := complete("schedule", "show", "comp"); !slices.Equal(got, []string{"completed", "completed-too"}) {
		t.Errorf("schedules for comp: %q", got)
	}
}
