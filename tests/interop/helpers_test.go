package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

const (
	scheduleIf = "com.redhat.Snapm.Timers.Schedule"
	omIf       = "org.freedesktop.DBus.ObjectManager"
	// follow is how soon the daemon must show what snapm did on disk.
	follow = time.Second
	// hangGuard bounds waits that are not the measure of a test.
	hangGuard = 10 * time.Second
)

func testCtx(t testing.TB) context.Context { return nstest.Ctx(t, 120*time.Second) }

// connect opens a root client connection to the namespace's system bus.
func connect(t testing.TB) *dbus.Conn { return nstest.MustConnect(t, ns) }

func mustCall(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	t.Helper()
	return nstest.MustCall(t, conn, path, method, args...)
}

// snapm runs the real snapm in the namespace and fails t unless it exits 0.
func snapm(t testing.TB, args ...string) string {
	t.Helper()
	res := trySnapm(t, args...)
	if res.Status != 0 {
		t.Fatalf("snapm %s: exit status %d:\n%s%s", strings.Join(args, " "), res.Status, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// trySnapm runs the real snapm in the namespace, whatever its verdict.
func trySnapm(t testing.TB, args ...string) sysns.SnapmResult {
	t.Helper()
	res, err := ns.Snapm(testCtx(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// deleteAtEnd deletes schedule name with snapm when t ends, if it is still
// there, so that one test's schedules never meet the next test.
func deleteAtEnd(t testing.TB, name string) {
	t.Cleanup(func() {
		if _, err := os.Stat(schedulePath(name)); err == nil {
			if res, err := ns.Snapm(context.Background(), "schedule", "delete", name); err != nil || res.Status != 0 {
				t.Errorf("snapm schedule delete %s: %v %d %s", name, err, res.Status, res.Stderr)
			}
		}
	})
}

// schedulePath is where snapm keeps schedule name, as the host sees it.
func schedulePath(name string) string {
	return ns.SnapmDirPath("schedule.d", name+".json")
}

// fileSchedule is a schedule file as snapm-schedule.d(5) lays it out.
type fileSchedule struct {
	Name              string   `json:"name"`
	Sources           []string `json:"sources"`
	DefaultSizePolicy *string  `json:"default_size_policy"`
	Autoindex         bool     `json:"autoindex"`
	CalendarSpec      string   `json:"calendarspec"`
	Boot              bool     `json:"boot"`
	Revert            bool     `json:"revert"`
	GcPolicy          map[string]any
}

func (f *fileSchedule) UnmarshalJSON(data []byte) error {
	type plain fileSchedule
	var raw struct {
		plain
		GcPolicy map[string]any `json:"gc_policy"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*f = fileSchedule(raw.plain)
	f.GcPolicy = raw.GcPolicy
	return nil
}

// readSchedule is schedule name as it is on disk.
func readSchedule(t testing.TB, name string) fileSchedule {
	t.Helper()
	data, err := os.ReadFile(schedulePath(name))
	if err != nil {
		t.Fatal(err)
	}
	var f fileSchedule
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", schedulePath(name), err)
	}
	return f
}

// snapmShow is what `snapm schedule show NAME` says, field by field, as
// an admin reads it.
func snapmShow(t testing.TB, name string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(snapm(t, "schedule", "show", name), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			if _, dup := fields[k]; !dup { // GcPolicy's Name under the schedule's
				fields[k] = strings.TrimSpace(v)
			}
		}
	}
	return fields
}

// snapmEnabled is the Enabled column of `snapm schedule list` for name.
func snapmEnabled(t testing.TB, name string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(snapm(t, "schedule", "list", "-o", "name,enabled", "--noheadings")), "\n")
	for _, line := range lines {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	t.Fatalf("snapm schedule list does not list %s:\n%s", name, strings.Join(lines, "\n"))
	return ""
}

// event is one signal the daemon sent, and when it arrived.
type event struct {
	at  time.Time
	sig *dbus.Signal
}

// recorder keeps every signal the daemon sends, from its start until the
// test ends, in order.
type recorder struct {
	mu     sync.Mutex
	events []event
	more   chan struct{} // closed and replaced at each new event
}

func record(t testing.TB) *recorder {
	t.Helper()
	conn := connect(t)
	// AddMatch is a call: the match is in place once it returns.
	if err := conn.AddMatchSignal(dbus.WithMatchSender(nstest.BusName)); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 1024)
	conn.Signal(ch)
	r := &recorder{more: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sig := range ch {
			r.mu.Lock()
			r.events = append(r.events, event{time.Now(), sig})
			close(r.more)
			r.more = make(chan struct{})
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		conn.RemoveSignal(ch)
		close(ch)
		<-done
	})
	return r
}

// mark is where the events from now on begin.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// await returns the first event from mark on that match says yes to, or
// fails t after guard.
func (r *recorder) await(t testing.TB, from int, guard time.Duration, what string, match func(*dbus.Signal) bool) event {
	t.Helper()
	deadline := time.After(guard)
	for i := from; ; {
		r.mu.Lock()
		more := r.more
		for ; i < len(r.events); i++ {
			if match(r.events[i].sig) {
				e := r.events[i]
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no signal %s within %v", what, guard)
		}
	}
}

// since are the events from mark on.
func (r *recorder) since(from int) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events[from:]...)
}

// added says yes to InterfacesAdded of iface with the properties want.
func added(iface string, want map[string]any) func(*dbus.Signal) bool {
	return func(sig *dbus.Signal) bool {
		if sig.Name != omIf+".InterfacesAdded" || len(sig.Body) != 2 {
			return false
		}
		ifaces, _ := sig.Body[1].(map[string]map[string]dbus.Variant)
		props, ok := ifaces[iface]
		if !ok {
			return false
		}
		for k, v := range want {
			if props[k].Value() != v {
				return false
			}
		}
		return true
	}
}

// removed says yes to InterfacesRemoved of path.
func removed(path dbus.ObjectPath) func(*dbus.Signal) bool {
	return func(sig *dbus.Signal) bool {
		return sig.Name == omIf+".InterfacesRemoved" && len(sig.Body) == 2 && sig.Body[0] == path
	}
}

// timerAdded says yes to the InterfacesAdded of timer typ of name.
func timerAdded(typ, name string) func(*dbus.Signal) bool {
	return added(nstest.TimerIf, map[string]any{"Type": typ, "Name": name})
}

// scheduleAdded says yes to the InterfacesAdded of schedule name.
func scheduleAdded(name string) func(*dbus.Signal) bool {
	return added(scheduleIf, map[string]any{"Name": name})
}

// objects is every object the daemon exports, with its interfaces and
// properties, from its ObjectManager.
func objects(t testing.TB, conn *dbus.Conn) map[dbus.ObjectPath]map[string]map[string]dbus.Variant {
	t.Helper()
	var all map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := mustCall(t, conn, nstest.RootPath, omIf+".GetManagedObjects").Store(&all); err != nil {
		t.Fatal(err)
	}
	return all
}

// ofSchedule are the paths of the objects that belong to schedule name:
// its Schedule object and its two timers.
func ofSchedule(t testing.TB, conn *dbus.Conn, name string) []dbus.ObjectPath {
	t.Helper()
	var paths []dbus.ObjectPath
	for path, ifaces := range objects(t, conn) {
		for _, iface := range []string{scheduleIf, nstest.TimerIf} {
			if props, ok := ifaces[iface]; ok && props["Name"].Value() == name {
				paths = append(paths, path)
			}
		}
	}
	return paths
}

// scheduleProps are the properties of a Schedule object.
func scheduleProps(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath) map[string]dbus.Variant {
	t.Helper()
	var all map[string]dbus.Variant
	if err := mustCall(t, conn, path, nstest.PropsIf+".GetAll", scheduleIf).Store(&all); err != nil {
		t.Fatal(err)
	}
	return all
}

// getSchedule is the path of schedule name, from the Manager.
func getSchedule(t testing.TB, conn *dbus.Conn, name string) dbus.ObjectPath {
	t.Helper()
	var path dbus.ObjectPath
	if err := mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".GetSchedule", name).Store(&path); err != nil {
		t.Fatal(err)
	}
	return path
}

// timerProps are the properties of the timer typ of name.
func timerProps(t testing.TB, conn *dbus.Conn, typ, name string) (dbus.ObjectPath, map[string]dbus.Variant) {
	t.Helper()
	var path dbus.ObjectPath
	if err := mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".GetTimer", typ, name).Store(&path); err != nil {
		t.Fatal(err)
	}
	var all map[string]dbus.Variant
	if err := mustCall(t, conn, path, nstest.PropsIf+".GetAll", nstest.TimerIf).Store(&all); err != nil {
		t.Fatal(err)
	}
	return path, all
}

// describe is a signal in one line, for a failure's message.
func describe(e event) string {
	return fmt.Sprintf("%s %s %s %v", e.at.Format("15:04:05.000000"), e.sig.Path, e.sig.Name, e.sig.Body)
}
