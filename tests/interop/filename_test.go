package interop

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// snapmListed are the schedule names `snapm schedule list` shows, sorted.
func snapmListed(t testing.TB) []string {
	t.Helper()
	names := strings.Fields(snapm(t, "schedule", "list", "-o", "name", "--noheadings"))
	slices.Sort(names)
	return names
}

// busListed are the names of the Schedule objects on the bus, sorted.
func busListed(t testing.TB, conn *dbus.Conn) []string {
	t.Helper()
	var names []string
	for _, ifaces := range objects(t, conn) {
		if props, ok := ifaces[scheduleIf]; ok {
			names = append(names, props["Name"].Value().(string))
		}
	}
	slices.Sort(names)
	return names
}

// wantSameList fails t unless, within follow, the bus shows the schedules
// `snapm schedule list` lists: each once, as one name has one object
// (snapm lists a schedule that two files name twice).
func wantSameList(t testing.TB, conn *dbus.Conn, what string) {
	t.Helper()
	want := slices.Compact(snapmListed(t))
	var got []string
	for deadline := time.Now().Add(follow); ; time.Sleep(20 * time.Millisecond) {
		if got = busListed(t, conn); slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: the bus shows schedules %q, snapm schedule list %q", what, got, want)
	}
}

// A file whose inner name differs from its own is, for snapm 0.7, the
// schedule it names (Scheduler._load_schedules keys each file by
// schedule.name), and its delete unlinks that file: the bus agrees with
// `snapm schedule list` throughout. A file snapm cannot load is logged
// with its name and survived.
func TestFileNamedOtherwise(t *testing.T) {
	conn := connect(t)
	const inner = "fn-inner"
	backup := schedulePath("fn-backup")
	broken := schedulePath("fn-broken")
	t.Cleanup(func() { os.Remove(backup); os.Remove(broken) })
	deleteAtEnd(t, inner)

	if err := ns.WriteSchedule(inner, "daily"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(schedulePath(inner), backup); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte(`{"name": "fn-broken"`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantSameList(t, conn, "a file naming another schedule")
	if !slices.Contains(snapmListed(t), inner) {
		t.Fatalf("snapm does not list %s from %s", inner, backup)
	}
	for _, typ := range []string{"create", "gc"} {
		timerProps(t, conn, typ, inner) // its timers are shown too
	}
	journal, err := ns.Output(testCtx(t), "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if err != nil || !strings.Contains(string(journal), "fn-broken.json") {
		t.Errorf("the file snapm cannot load is not in the daemon's log (%v)", err)
	}

	// A second file naming it: snapm lists both, the bus shows one.
	twice := schedulePath("fn-twice")
	t.Cleanup(func() { os.Remove(twice) })
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(twice, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(snapmListed(t), " ")+" ", inner+" "); n != 2 {
		t.Errorf("snapm lists %s %d times from two files, want 2", inner, n)
	}
	wantSameList(t, conn, "two files naming one schedule")
	if err := os.Remove(twice); err != nil {
		t.Fatal(err)
	}
	wantSameList(t, conn, "one of two files naming a schedule removed")

	snapm(t, "schedule", "delete", inner)
	if _, err := os.Stat(backup); err == nil {
		t.Errorf("snapm's delete left %s", backup)
	}
	wantSameList(t, conn, "after snapm's delete")
	wantAgreement(t, conn, inner)
}
