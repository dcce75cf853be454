package realsystemd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/tests/calcorpus"
	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

// The CLI is installed in the namespace's private /usr/libexec, where
// every uid can run it; the host path serves the -H test.
const ctlInNS = "/usr/libexec/snapm-timersctl"

func ctlHostPath() string { return filepath.Join(ns.Dir, "libexec", "snapm-timersctl") }

func buildCtl(t *testing.T) {
	t.Helper()
	nstest.Tool(t, ns, "./cmd/snapm-timersctl", "snapm-timersctl")
}

// ctlResult is what one run of a command printed and its exit status.
type ctlResult struct {
	stdout, stderr string
	code           int
}

// runIn runs argv in the namespace as uid (0: root) with TZ=UTC, the
// zone of the namespace's systemd and daemon.
func runIn(t *testing.T, uid int, argv ...string) ctlResult {
	t.Helper()
	argv = append([]string{"env", "TZ=UTC", "LC_ALL=C"}, argv...)
	cmd := ns.Command(testCtx(t), argv...)
	if uid != 0 {
		cmd = ns.CommandAs(testCtx(t), uid, argv...)
	}
	return runCmd(t, cmd)
}

func runCmd(t *testing.T, cmd *exec.Cmd) ctlResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return ctlResult{stdout.String(), stderr.String(), code}
}

// ctl runs the CLI as root and wants exit status want.
func ctl(t *testing.T, want int, args ...string) string {
	t.Helper()
	buildCtl(t)
	r := runIn(t, 0, append([]string{ctlInNS}, args...)...)
	if r.code != want {
		t.Fatalf("snapm-timersctl %s: exit %d, want %d; stdout %q, stderr %q", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func dropInPath(unit string) string { return ns.UnitDirPath(unit+".d", "10-oncalendar.conf") }

// The whole life of a timer through the CLI alone, each step checked
// against systemd and the disk.
func TestCLILifecycle(t *testing.T) {
	const id, unit = "create/cli-life", "snapm-create@cli-life.timer"
	withSchedule(t, "create", "cli-life", "hourly")
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", id) })
	ctl(t, 0, "create", "create", "cli-life", "hourly")
	if got := ctl(t, 0, "show", id, "-p", "Status", "--value"); got != "disabled" {
		t.Fatalf("after create: Status %q", got)
	}
	// A bare name is both timers of its schedule: the CLI asks for one.
	if r := runIn(t, 0, ctlInNS, "enable", "cli-life", "--now"); r.code != 2 || !strings.Contains(r.stderr, "ambiguous") {
		t.Errorf("enable of a bare schedule name: exit %d, stderr %q; want 2, ambiguous", r.code, r.stderr)
	}
	ctl(t, 0, "enable", id, "--now")
	if systemctlState(t, "is-enabled", unit) != "enabled" || systemctlState(t, "is-active", unit) != "active" || !exists(dropInPath(unit)) {
		t.Fatal("enable --now: systemd does not have the timer enabled and active with its drop-in")
	}
	status := ctl(t, 0, "status", id)
	for _, want := range []string{"● create/cli-life - " + unit, "Status: running (enabled, active)", "Calendar: hourly", "Normalized: *-*-* *:00:00"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	ctl(t, 0, "set-calendar", id, "*:0/20")
	if data, _ := os.ReadFile(dropInPath(unit)); !strings.Contains(string(data), "OnCalendar=*:0/20") {
		t.Errorf("drop-in after set-calendar:\n%s", data)
	}
	if got := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.Contains(got, "*-*-* *:00/20:00") {
		t.Errorf("systemd's calendar after set-calendar: %q", got)
	}
	ctl(t, 0, "stop", id)
	if systemctlState(t, "is-active", unit) != "inactive" || ctl(t, 0, "show", id, "-p", "Status", "--value") != "enabled" {
		t.Fatal("stop: not inactive and enabled")
	}
	ctl(t, 0, "start", id)
	list := ctl(t, 0, "list", "--state=running")
	if !strings.Contains(list, id) || !strings.Contains(list, " left ") {
		t.Errorf("list --state=running lacks a running %s:\n%s", id, list)
	}
	ctl(t, 0, "disable", id)
	if systemctlState(t, "is-enabled", unit) != "disabled" || exists(dropInPath(unit)) {
		t.Fatal("disable: unit file still enabled or drop-in still there")
	}
	ctl(t, 0, "remove", id)
	// Its schedule stays, and brings it back disabled; once the schedule
	// goes, so does the timer.
	if got := ctl(t, 0, "show", id, "-p", "Status", "--value"); got != "disabled" {
		t.Errorf("after remove, with its schedule: Status %q, want disabled", got)
	}
	if err := os.Remove(ns.SnapmDirPath("schedule.d", "cli-life.json")); err != nil {
		t.Fatal(err)
	}
	// Until the daemon follows the file, the CLI may find the object
	// and then fail to read it, gone meanwhile.
	r := runIn(t, 0, ctlInNS, "show", id)
	for deadline := time.Now().Add(time.Second); !strings.Contains(r.stderr, "Failed to look up") && time.Now().Before(deadline); r = runIn(t, 0, ctlInNS, "show", id) {
		time.Sleep(20 * time.Millisecond)
	}
	if r.code != 5 || !strings.Contains(r.stderr, "Failed to look up "+id) {
		t.Errorf("show of a removed timer: exit %d, stderr %q; want 5 and one line", r.code, r.stderr)
	}
	ctl(t, 5, "stop", id)
	// Refused input changes nothing.
	scheduleTimers(t, connect(t), "create", "cli-bad", "daily")
	ctl(t, 1, "create", "create", "cli-bad", "bogus")
	if got := ctl(t, 0, "show", "create/cli-bad", "-p", "CalendarSpec", "--value"); got != "daily" {
		t.Errorf("a refused create changed the schedule's timer to %q", got)
	}
	if exists(ns.UnitDirPath("snapm-create@cli-bad.timer.d")) {
		t.Error("a refused create left a drop-in directory")
	}
	ctl(t, 2, "create", "weekly", "x", "daily")
}

// --json output parses back and says what the bus says.
func TestCLIJSON(t *testing.T) {
	conn := connect(t)
	withSchedule(t, "create", "cli-json", "daily")
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", "create/cli-json", "gc/cli-json") })
	ctl(t, 0, "create", "create", "cli-json", "daily", "--now")
	ctl(t, 0, "create", "gc", "cli-json", gcSpec)
	path := rootPath + "/create/cli_2djson"
	want := props(t, conn, path)

	var rows []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ctl(t, 0, "list", "--json=short")), &rows); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, r := range rows {
		var timer, status string
		var next uint64
		json.Unmarshal(r["timer"], &timer)   //nolint:errcheck // checked through the values below
		json.Unmarshal(r["status"], &status) //nolint:errcheck
		json.Unmarshal(r["next"], &next)     //nolint:errcheck
		if timer == "create/cli-json" {
			found++
			if status != "running" || next != want["NextElapse"].Value().(uint64) {
				t.Errorf("list --json row %s", r)
			}
		}
		if timer == "gc/cli-json" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("list --json has %d of the 2 timers: %v", found, rows)
	}

	var objs []map[string]any
	dec := json.NewDecoder(strings.NewReader(ctl(t, 0, "status", "create/cli-json", "gc/cli-json", "--json=pretty")))
	dec.UseNumber()
	if err := dec.Decode(&objs); err != nil || len(objs) != 2 {
		t.Fatalf("status --json: %v, %d objects", err, len(objs))
	}
	for name, v := range want {
		got := fmt.Sprint(objs[0][name])
		if got != fmt.Sprint(v.Value()) {
			t.Errorf("status --json %s = %s, the bus says %v", name, got, v.Value())
		}
	}
	var shown []map[string]any
	if err := json.Unmarshal([]byte(ctl(t, 0, "show", "gc/cli-json", "-p", "Status,Enabled", "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0]["Status"] != "disabled" || shown[0]["Enabled"] != false || len(shown[0]) != 2 {
		t.Errorf("show -p --json: %v", shown)
	}
}

// `calendar` prints what the namespace's systemd-analyze calendar prints,
// byte for byte apart from "From now", for every row of the corpus, in the
// namespace's zone (UTC, the daemon's) and in a caller's TZ beside it, and
// exits as it does on the rows it rejects.
func TestCLICalendarMatchesSystemdAnalyze(t *testing.T) {
	buildCtl(t)
	valid, invalid, err := calcorpus.Expressions(filepath.Join(sysns.RepoRoot(), "service", "calendar", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tz := range []string{"UTC", ":Europe/Berlin"} {
		for _, base := range []string{"@1767225600", "2024-03-31 00:30:00 UTC"} {
			opts := []string{"calendar", "--iterations", "3", "--base-time", base, "--"}
			ours := runIn(t, 0, append(append([]string{"env", "TZ=" + tz, ctlInNS}, opts...), valid...)...)
			theirs := runIn(t, 0, append(append([]string{"env", "TZ=" + tz, "systemd-analyze"}, opts...), valid...)...)
			if ours.code != 0 || theirs.code != 0 {
				t.Fatalf("TZ=%s base %s: exit %d, systemd-analyze %d; stderr %q / %q", tz, base, ours.code, theirs.code, ours.stderr, theirs.stderr)
			}
			if got, want := calcorpus.Comparable(ours.stdout), calcorpus.Comparable(theirs.stdout); got != want {
				t.Errorf("TZ=%s base %s: calendar differs from systemd-analyze calendar at line %s", tz, base, calcorpus.FirstDiff(got, want))
			}
		}
	}
	for _, expr := range invalid {
		ours := runIn(t, 0, ctlInNS, "calendar", "--", expr)
		theirs := runIn(t, 0, "systemd-analyze", "calendar", "--", expr)
		if ours.code != theirs.code || ours.stdout != theirs.stdout || !strings.Contains(ours.stderr, "Failed to parse calendar specification") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; systemd-analyze: exit %d, stdout %q", expr, ours.code, ours.stdout, ours.stderr, theirs.code, theirs.stdout)
		}
	}
	t.Logf("%d valid expressions at 2 base times in 2 zones, %d invalid ones", len(valid), len(invalid))
}

// A caller in Berlin sees when the daemon's timers, in UTC, elapse: the
// times systemd-analyze gives in UTC, shown in Berlin's zone.
func TestCLICalendarShowsWhenTimersElapse(t *testing.T) {
	buildCtl(t)
	opts := []string{"calendar", "--iterations=2", "--base-time=@1774742400", "weekly"}
	berlin := runIn(t, 0, append([]string{"env", "TZ=:Europe/Berlin", ctlInNS}, opts...)...)
	utc := runIn(t, 0, append([]string{"systemd-analyze"}, opts...)...)
	var fired, want []string
	for _, l := range strings.Split(berlin.stdout, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Timer elapses: "); ok {
			fired = append(fired, v)
		}
	}
	berlinZone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(utc.stdout, "\n") {
		l = strings.TrimSpace(l)
		if _, v, ok := strings.Cut(l, ": "); ok && (strings.HasPrefix(l, "Next elapse:") || strings.HasPrefix(l, "Iter. #")) {
			at, err := time.Parse("Mon 2006-01-02 15:04:05 MST", v)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, at.In(berlinZone).Format("Mon 2006-01-02 15:04:05 MST"))
		}
	}
	if berlin.code != 0 || len(want) != 2 || !slices.Equal(fired, want) {
		t.Errorf("TZ=Europe/Berlin: exit %d, timers elapse %q, want %q (from systemd-analyze in UTC)\n%s", berlin.code, fired, want, berlin.stdout)
	}
}

// An unprivileged user reads everything, and every change it asks for
// with --no-ask-password is refused with "access denied" and exit 4,
// leaving systemd and the disk as they were.
func TestCLIAccessDenied(t *testing.T) {
	buildCtl(t)
	const id, unit = "create/cli-denied", "snapm-create@cli-denied.timer"
	withSchedule(t, "create", "cli-denied", "daily")
	withSchedule(t, "gc", "cli-denied2", gcSpec)
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", id) })
	ctl(t, 0, "create", "create", "cli-denied", "daily", "--now")
	snapshot := func() string {
		data, _ := os.ReadFile(dropInPath(unit))
		return fmt.Sprintf("%s|%s|%s|%s", data, systemctlState(t, "is-enabled", unit), systemctlState(t, "is-active", unit),
			ctl(t, 0, "show", id))
	}
	before := snapshot()
	if r := runIn(t, 65534, ctlInNS, "list"); r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Fatalf("list as nobody: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{
		{"stop", id}, {"disable", id}, {"set-calendar", id, "hourly"}, {"remove", id},
		{"create", "gc", "cli-denied2", gcSpec}, {"enable", id, "--now"},
		{"create", "gc", "cli-denied2", gcSpec, "--now"}, // one call, the same refusal
	} {
		r := runIn(t, 65534, append([]string{ctlInNS, "--no-ask-password"}, args...)...)
		if r.code != 4 || !strings.Contains(r.stderr, "access denied") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v as nobody: exit %d, stderr %q; want 4 and one line saying access denied", args, r.code, r.stderr)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("refused calls changed the timer:\nbefore %s\nafter  %s", before, after)
	}
	// Its schedule file's timer, as it was.
	if got := ctl(t, 0, "show", "gc/cli-denied2", "-p", "Status", "--value"); got != "disabled" {
		t.Errorf("after refused creates the schedule's gc timer is %s", got)
	}
}

// -H runs the CLI against the namespace's bus through a real ssh and sshd
// (Debian's openssh-server, run in the namespace in inetd mode by the
// client's ProxyCommand, so no port is opened on the host) and the
// remote's systemd-stdio-bridge, as systemd's tools do.
func TestCLIRemoteHost(t *testing.T) {
	buildCtl(t)
	for _, bin := range []string{"ssh", "ssh-keygen", "/usr/sbin/sshd", "systemd-stdio-bridge"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is needed (openssh-client, openssh-server, systemd): %v", bin, err)
		}
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	// The server's side lives in the namespace's private /run.
	inNS(t, "sh", "-c", "mkdir -p /run/sshd /run/sshtest && rm -f /run/sshtest/hostkey* && ssh-keygen -q -t ed25519 -N '' -f /run/sshtest/hostkey")
	sshdConfig := "HostKey /run/sshtest/hostkey\nAuthorizedKeysFile /run/sshtest/authorized_keys\nPermitRootLogin prohibit-password\n" +
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n"
	write := ns.Command(testCtx(t), "sh", "-c", "cat > /run/sshtest/sshd_config && printf '%s' \"$0\" > /run/sshtest/authorized_keys", string(pub))
	write.Stdin = strings.NewReader(sshdConfig)
	if out, err := write.CombinedOutput(); err != nil {
		t.Fatalf("writing sshd's files: %v: %s", err, out)
	}
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("Host snapm-ns\n  ProxyCommand nsenter -t %d -a /usr/sbin/sshd -i -f /run/sshtest/sshd_config\n"+
		"  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n",
		ns.PID, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "ssh")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec ssh -F "+config+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	remote := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(testCtx(t), ctlHostPath(), append([]string{"-H", "root@snapm-ns"}, args...)...)
		cmd.Env = append(os.Environ(), "SYSTEMD_SSH="+wrapper, "TZ=UTC")
		r := runCmd(t, cmd)
		if r.code != want {
			t.Fatalf("-H %v: exit %d, want %d; stderr %q", args, r.code, want, r.stderr)
		}
		return r.stdout
	}
	withSchedule(t, "create", "cli-remote", "daily")
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", "create/cli-remote") })
	remote(0, "create", "create", "cli-remote", "daily", "--now")
	if systemctlState(t, "is-active", "snapm-create@cli-remote.timer") != "active" {
		t.Fatal("create --now over -H: the namespace's systemd does not run the timer")
	}
	if out := remote(0, "list"); !strings.Contains(out, "create/cli-remote") {
		t.Errorf("list over -H:\n%s", out)
	}
	remote(5, "stop", "create/no-such")
	remote(0, "remove", "create/cli-remote")
	// Its schedule stays, and brings the timer back, disabled.
	if got := ctl(t, 0, "show", "create/cli-remote", "-p", "Status", "--value"); got != "disabled" {
		t.Errorf("after remove over -H: Status %s, want its schedule's disabled timer", got)
	}
}

// monitor --json prints one event a line for each change, in order, with
// the values the bus published.
func TestCLIMonitor(t *testing.T) {
	buildCtl(t)
	ctx := testCtx(t)
	cmd := ns.Command(ctx, ctlInNS, "monitor", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // killed on purpose
	if line, err := bufio.NewReader(stderr).ReadString('\n'); err != nil || !strings.HasPrefix(line, "Monitoring ") {
		t.Fatalf("monitor did not start: %q %v", line, err)
	}
	events := make(chan map[string]any, 64)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			var ev map[string]any
			if json.Unmarshal(s.Bytes(), &ev) == nil {
				events <- ev
			}
		}
		close(events)
	}()
	withSchedule(t, "gc", "cli-mon", gcSpec)
	t.Cleanup(func() { runIn(t, 0, ctlInNS, "remove", "gc/cli-mon") })
	ctl(t, 0, "create", "gc", "cli-mon", gcSpec, "--now")
	ctl(t, 0, "remove", "gc/cli-mon")
	var seen []string
	status := ""
	for ev := range events {
		if ev["timer"] != "gc/cli-mon" {
			continue
		}
		props, _ := ev["properties"].(map[string]any)
		if s, ok := props["Status"].(string); ok {
			status = s
		}
		seen = append(seen, fmt.Sprintf("%s:%s", ev["event"], status))
		if ev["event"] == "removed" {
			break
		}
	}
	got := strings.Join(seen, " ")
	// create --now is one CreateTimerWithFlags call: the timer appears
	// already running; remove stops it, then withdraws it.
	if len(seen) < 3 || seen[0] != "added:running" || seen[1] != "changed:enabled" || !strings.HasPrefix(seen[len(seen)-1], "removed") {
		t.Errorf("monitor events for gc/cli-mon: %s", got)
	}
	t.Logf("events: %s", got)
}
