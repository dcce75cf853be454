package bus

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

type managed = map[dbus.ObjectPath]map[string]map[string]dbus.Variant

func (e *env) managed() managed {
	e.t.Helper()
	var out managed
	if err := e.call(rootPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects").Store(&out); err != nil {
		e.t.Fatalf("GetManagedObjects: %v", err)
	}
	return out
}

// same says whether GetManagedObjects shows each of paths (timers and
// schedules) as GetAll does, and nothing else.
func (e *env) same(got managed, paths ...dbus.ObjectPath) string {
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(paths))) {
		return fmt.Sprintf("objects %v, want %v", keys, paths)
	}
	for _, path := range paths {
		iface := timerIf
		if strings.HasPrefix(string(path), string(rootPath)+"/schedule/") {
			iface = scheduleIf
		}
		var all map[string]dbus.Variant
		if err := e.call(path, "org.freedesktop.DBus.Properties.GetAll", iface).Store(&all); err != nil {
			e.t.Fatal(err)
		}
		if len(got[path]) != 1 || fmt.Sprint(got[path][iface]) != fmt.Sprint(all) {
			return fmt.Sprintf("%s shows\n%v\nGetAll says\n%v", path, got[path], all)
		}
	}
	return ""
}

// GetManagedObjects, answered from a reply encoded once and shared, says
// what GetAll says of every object, follows every change, and gives every
// caller at once the same.
func TestGetManagedObjectsFollowsChanges(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	if diff := e.same(e.managed()); diff != "" {
		t.Errorf("no timers: %s", diff)
	}
	// Each timer is made for a schedule, which is an object too, and
	// brings its gc timer; a timer removed while its schedule stays is
	// back as the schedule's.
	a, b, c := e.create("a"), e.create("b"), e.create("c")
	sa, sb, sc := rootPath+"/schedule/a", rootPath+"/schedule/b", rootPath+"/schedule/c"
	ga, gb, gc := rootPath+"/gc/a", rootPath+"/gc/b", rootPath+"/gc/c"
	if diff := e.same(e.managed(), a, b, c, ga, gb, gc, sa, sb, sc); diff != "" {
		t.Errorf("created: %s", diff)
	}
	if err := e.call(b, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.waitStatus(b, "enabled")
	got := e.managed()
	if diff := e.same(got, a, b, c, ga, gb, gc, sa, sb, sc); diff != "" || got[b][timerIf]["Status"].Value() != "enabled" {
		t.Errorf("enabled: %s; status %v", diff, got[b][timerIf]["Status"].Value())
	}
	if err := e.call(rootPath, managerIf+".RemoveTimer", c).Err; err != nil {
		t.Fatal(err)
	}
	if diff := e.same(e.managed(), a, b, c, ga, gb, gc, sa, sb, sc); diff != "" {
		t.Errorf("removed while its schedule stays: %s", diff)
	}
	if err := os.Remove(filepath.Join(e.schedDir, "c.json")); err != nil {
		t.Fatal(err)
	}
	e.waitFor("schedule c's going", func() bool { _, ok := e.managed()[sc]; return !ok })
	if diff := e.same(e.managed(), a, b, ga, gb, sa, sb); diff != "" {
		t.Errorf("removed: %s", diff)
	}
	calls := make([]*dbus.Call, 16)
	for i := range calls {
		calls[i] = e.conn.Object(busName, rootPath).Go("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0, nil)
	}
	for i, call := range calls {
		<-call.Done
		var got managed
		if err := call.Store(&got); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if diff := e.same(got, a, b, ga, gb, sa, sb); diff != "" {
			t.Errorf("call %d of 16 at once: %s", i, diff)
		}
	}
	// Arguments it does not take are refused, not ignored.
	if err := e.call(rootPath, "org.freedesktop.DBus.ObjectManager.GetManagedObjects", "x").Err; err == nil {
		t.Error("GetManagedObjects(\"x\") answered, want an error")
	}
}

// Callers other than root get GetManagedObjects paced, ten a second after
// a burst of ten, so that a flood of them cannot crowd out root; root's
// own are answered at once meanwhile.
func TestGetManagedObjectsPacesOthers(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	e.create("a")
	const calls = 30
	script := fmt.Sprintf(`for i in $(seq %d); do busctl --address=%s call %s %s org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null & done; wait`,
		calls, e.addr, busName, rootPath)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		out, err := runAs(65534, "sh", "-c", script)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		done <- err
	}()
	var rootTook []time.Duration
	for flooding := true; flooding; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			flooding = false
		default:
			t0 := time.Now()
			e.managed()
			rootTook = append(rootTook, time.Since(t0))
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The burst goes at once, the rest one every pace.
	if took, least := time.Since(start), (calls-10-1)*100*time.Millisecond; took < least {
		t.Errorf("%d calls from uid 65534 answered in %v, want at least %v", calls, took, least)
	}
	if slow := slices.Max(rootTook); slow > time.Second {
		t.Errorf("root's GetManagedObjects took up to %v during the flood (%d calls), want them answered at once", slow, len(rootTook))
	}
}
