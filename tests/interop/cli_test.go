package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// ctl runs snapm-timersctl in the namespace, built once into its private
// /usr/libexec.
func ctl(t *testing.T, args ...string) string {
	t.Helper()
	path := nstest.Tool(t, ns, "./cmd/snapm-timersctl", "snapm-timersctl")
	out, err := ns.Output(testCtx(t), append([]string{"env", "TZ=UTC", path, "--no-pager"}, args...)...)
	if err != nil {
		t.Fatalf("snapm-timersctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// showFields is a `schedule show` text, snapm's or the CLI's, as an admin
// reads it: each "Key: value", the policy's keys under "GcPolicy.", the
// next elapse left out (each tool prints time its own way).
func showFields(text string) map[string]string {
	fields := map[string]string{}
	prefix := ""
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		indented := strings.HasPrefix(k, " ")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "GcPolicy":
			prefix = "GcPolicy."
			continue
		case !indented:
			prefix = ""
		}
		if k != "NextElapse" {
			fields[prefix+k] = v
		}
	}
	return fields
}

func wantSameShow(t *testing.T, name string) {
	t.Helper()
	ours, theirs := showFields(ctl(t, "schedule", "show", name)), showFields(snapm(t, "schedule", "show", name))
	if len(ours) < 10 {
		t.Fatalf("schedule show %s: only %d fields: %v", name, len(ours), ours)
	}
	for k, v := range theirs {
		if ours[k] != v {
			t.Errorf("schedule %s: %s is %q in snapm-timersctl schedule show, %q in snapm's", name, k, ours[k], v)
		}
	}
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			t.Errorf("schedule %s: snapm-timersctl shows %s, snapm does not", name, k)
		}
	}
}

// A schedule made with the CLI is the one snapm shows, and one made with
// snapm the CLI shows as snapm does, within a second; each tool deletes
// what the other made. Planted bugs: --keep-* sent under another key;
// Sources shown without snapm's ", " separator.
func TestCLIRoundTripWithSnapm(t *testing.T) {
	deleteAtEnd(t, "cli-made")
	ctl(t, "schedule", "create", "cli-made", "/", "/boot", "--calendarspec=Mon..Fri 02:30", "--policy-type=timeline",
		"--keep-daily=7", "--keep-hourly=24", "--bootable")
	show := snapmShow(t, "cli-made")
	for k, want := range map[string]string{"Calendarspec": "Mon..Fri 02:30", "Type": "Timeline",
		"Params": "keep_daily=7, keep_hourly=24", "Boot": "yes", "Enabled": "yes", "Running": "yes"} {
		if show[k] != want {
			t.Errorf("snapm schedule show cli-made: %s is %q, want %q", k, show[k], want)
		}
	}
	wantSameShow(t, "cli-made")
	ctl(t, "schedule", "edit", "cli-made", "--policy-type=count", "--keep-count=3")
	if show := snapmShow(t, "cli-made"); show["Type"] != "Count" || show["Params"] != "keep_count=3" {
		t.Errorf("after schedule edit, snapm shows %s %s", show["Type"], show["Params"])
	}
	ctl(t, "schedule", "delete", "cli-made")
	if out := snapm(t, "schedule", "list"); strings.Contains(out, "cli-made") {
		t.Errorf("snapm still lists a schedule the CLI deleted:\n%s", out)
	}

	deleteAtEnd(t, "snapm-made")
	snapm(t, "schedule", "create", "--policy-type", "age", "--keep-days", "30", "--calendarspec", "hourly", "snapm-made", "/")
	deadline := time.Now().Add(time.Second)
	for !strings.Contains(ctl(t, "schedule", "list"), "snapm-made") {
		if time.Now().After(deadline) {
			t.Fatal("a schedule snapm made is not in schedule list after 1 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := ctl(t, "schedule", "list", "snapm-*"); !strings.Contains(out, "keep 30 days") || !strings.Contains(out, "1 schedules listed.") {
		t.Errorf("schedule list snapm-*:\n%s", out)
	}
	wantSameShow(t, "snapm-made")
	ctl(t, "schedule", "delete", "snapm-made")
	if out := snapm(t, "schedule", "list"); strings.Contains(out, "snapm-made") {
		t.Errorf("snapm still lists a schedule the CLI deleted:\n%s", out)
	}
}

// ctlStatus runs snapm-timersctl in the namespace and returns its exit
// status and output, whatever they are.
func ctlStatus(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctl(t, "--version")
	cmd := ns.Command(testCtx(t), append([]string{"env", "TZ=UTC", "/usr/libexec/snapm-timersctl", "--no-pager"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// The schedule verbs change what snapm sees, patterns pick schedules as
// systemctl's do, and mistakes fail in one line without changing anything.
// Planted bugs: stop sent as Disable; enable ignoring --now; show stopping
// at a missing schedule.
func TestCLIScheduleVerbs(t *testing.T) {
	deleteAtEnd(t, "cli-life")
	ctl(t, "schedule", "create", "cli-life", "/", "-C", "daily", "--policy-type=ALL")
	// systemd's word on both timers; snapm's Enabled reads "no" for a
	// stopped timer systemd has unloaded, so it cannot tell stop from disable.
	state := func() string {
		var s []string
		for _, unit := range []string{"snapm-create@cli-life.timer", "snapm-gc@cli-life.timer"} {
			enabled, _ := ns.Output(testCtx(t), "systemctl", "is-enabled", unit)
			active, _ := ns.Output(testCtx(t), "systemctl", "is-active", unit)
			s = append(s, strings.TrimSpace(enabled)+"/"+strings.TrimSpace(active))
		}
		return strings.Join(s, " ")
	}
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"stop", "cli-l*"}, "enabled/inactive enabled/inactive"},
		{[]string{"start", "cli-life"}, "enabled/active enabled/active"},
		{[]string{"disable", "cli-life"}, "disabled/inactive disabled/inactive"},
		{[]string{"enable", "cli-life"}, "enabled/inactive enabled/inactive"},
		{[]string{"disable", "cli-life"}, "disabled/inactive disabled/inactive"},
		{[]string{"enable", "--now", "cli-life"}, "enabled/active enabled/active"},
	} {
		ctl(t, append([]string{"schedule"}, step.args...)...)
		if got := state(); got != step.want {
			t.Errorf("after schedule %s, systemd says %s, want %s", strings.Join(step.args, " "), got, step.want)
		}
	}
	ctl(t, "schedule", "stop", "cli-life")
	if out := ctl(t, "schedule", "show", "cli-life"); !strings.Contains(out, "\nNextElapse: -\n") {
		t.Errorf("a stopped schedule shows a next run:\n%s", out)
	}

	code, out, errOut := ctlStatus(t, "schedule", "show", "cli-nosuch", "cli-life")
	if code != 5 || !strings.Contains(out, "Name: cli-life\n") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "cli-nosuch") {
		t.Errorf("schedule show NOSUCH NAME: exit %d, stdout %q, stderr %q; want 5, NAME shown, one line for NOSUCH", code, out, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(ctl(t, "schedule", "show", "--json", "cli-life")), &got); err != nil || len(got) != 1 {
		t.Fatalf("schedule show --json: %v %v", got, err)
	}
	if policy, _ := got[0]["gc_policy"].(map[string]any); got[0]["name"] != "cli-life" || policy["policy_type"] != "ALL" || got[0]["next_elapse"] != nil {
		t.Errorf("schedule show --json: %v", got[0])
	}

	before := readSchedule(t, "cli-life")
	for _, args := range [][]string{
		{"create", "cli-life2", "/", "--policy-type=all"},               // no calendar
		{"create", "cli-life2", "/", "-C", "daily"},                     // no policy
		{"edit", "cli-life", "--policy-type=sometimes"},                 // no such type
		{"edit", "cli-life", "--keep-count=-1"},                         // not a count
		{"enable", "cli-life", "--keep-count=3"},                        // not enable's
		{"frobnicate", "cli-life"},                                      // no such subcommand
		{"create", "cli-life", "/", "-C", "daily", "--policy-type=all"}, // exists
		{"edit", "cli-life", "-C", "not a calendar"},
	} {
		code, out, errOut := ctlStatus(t, append([]string{"schedule"}, args...)...)
		if code == 0 || out != "" || errOut == "" || strings.Count(strings.TrimSuffix(errOut, "Try 'snapm-timersctl --help' for more information.\n"), "\n") != 1 {
			t.Errorf("schedule %s: exit %d, stdout %q, stderr %q; want a failure in one line", strings.Join(args, " "), code, out, errOut)
		}
	}
	if after := readSchedule(t, "cli-life"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused commands changed the schedule:\n%v\n%v", before, after)
	}
	ctl(t, "schedule", "delete", "cli-life")
	if exists(schedulePath("cli-life")) {
		t.Error("schedule delete left the file")
	}
}
