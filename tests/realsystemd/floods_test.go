package realsystemd

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusalsRateLimited: one caller's flood of refused calls writes a
// few lines to the journal, not one each (7,340 lines in 20 s pushed
// older entries out). The count of lines held back comes with the
// caller's next line after the window (service/logging's tests).
func TestRefusalsRateLimited(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "gc", "flooded", "daily")
	t.Cleanup(func() { call(t, conn, rootPath, managerIf+".RemoveTimer", path) })
	// Users of their own (games, man), so that no other test's refusals
	// count; the bus takes connections only from users it can look up.
	const uid, calls = 5, 60
	script := "for i in $(seq " + strconv.Itoa(calls) + "); do gdbus call --system --dest " + busName +
		" --object-path " + string(path) + " --method " + timerIf + ".Enable >/dev/null 2>&1; done; true"
	if _, err := ns.OutputAs(testCtx(t), uid, "sh", "-c", script); err != nil {
		t.Fatal(err)
	}
	if got := status(t, conn, path); got != "disabled" {
		t.Errorf("refused calls left the timer %s", got)
	}
	// One refusal of another caller after the flood: the daemon writes
	// its lines in order, so once this one shows, all of the flood's have.
	const sentinel = uid + 1
	gdbusAs(t, sentinel, false, path, timerIf+".Enable") //nolint:errcheck // refused, as wanted
	var lines int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
		if !strings.Contains(journal, "caller_uid="+strconv.Itoa(sentinel)) {
			if time.Now().After(deadline) {
				t.Fatal("the sentinel refusal never reached the journal")
			}
			continue
		}
		for _, l := range strings.Split(journal, "\n") {
			if strings.HasPrefix(l, "call refused") && strings.Contains(l, "caller_uid="+strconv.Itoa(uid)) {
				lines++
			}
		}
		break
	}
	if lines == 0 || lines > 10 {
		t.Errorf("%d refused calls wrote %d lines to the journal, want 1 to 10", calls, lines)
	}
}

// TestPreviewPriorityUnderUnit: previews compute at the lowest priority
// under the shipped unit's own sandboxing, whose seccomp filter once
// refused it (EPERM, ignored: 247,170 samples of the daemon's threads
// during a flood showed nice 0 every time). The daemon's threads are
// sampled while uid 65534 previews; one must be seen in SCHED_IDLE at
// nice 19, and the journal must not say the priority could not be
// lowered.
func TestPreviewPriorityUnderUnit(t *testing.T) {
	pid := strings.TrimSpace(strings.TrimPrefix(inNS(t, "systemctl", "show", "-p", "MainPID", "snapm-timersd.service"), "MainPID="))
	if pid == "" || pid == "0" {
		t.Fatal("the daemon is not running")
	}
	flood := "for i in $(seq 30); do gdbus call --system --dest " + busName + " --object-path " + string(rootPath) +
		" --method " + managerIf + ".ParseCalendarAt 'Sat *-*~07/1' 1767225600000000 1000 >/dev/null || exit 1; done"
	// After "pid (comm) ", the 17th field is the nice value and the 39th
	// the scheduling policy (5: SCHED_IDLE).
	script := `setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1" & flood=$!
		while kill -0 $flood 2>/dev/null; do
			for s in /proc/` + pid + `/task/*/stat; do
				read -r line < "$s" 2>/dev/null || continue
				set -- ${line#*) }
				if [ "${17}" = 19 ] && [ "${39}" = 5 ]; then echo idle; kill $flood; exit 0; fi
			done
		done
		wait $flood`
	out, err := ns.Output(testCtx(t), "sh", "-c", script, "sh", flood)
	if err != nil || !strings.Contains(out, "idle") {
		t.Errorf("no thread of the daemon was seen at nice 19 in SCHED_IDLE while uid 65534 previewed (%v)", err)
	}
	if journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service"); strings.Contains(journal, "cannot lower the priority") {
		t.Error("the daemon could not lower its preview threads' priority under its own unit")
	}
}
