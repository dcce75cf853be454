// Tests of concurrent calls: daemon-reloads shared by the callers that
// need one, calls serialized per timer and served in parallel across them.

package bus

import (
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestReloadOnlyWhenStaleAndShared: no daemon-reload when systemd loads
// the drop-in fresh; concurrent callers that need one share it.
func TestReloadOnlyWhenStaleAndShared(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	path := e.create("fresh")
	if err := e.call(path, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("Reload"); n != 0 {
		t.Errorf("Enable of a fresh unit issued %d daemon-reloads", n)
	}

	const n = 16
	var paths []dbus.ObjectPath
	for i := 0; i < n; i++ {
		name := "stale" + string(rune('a'+i))
		paths = append(paths, e.create(name))
		e.fake.Load("snapm-create@" + name + ".timer")
	}
	// The first reload is held until every Enable has read its stale unit
	// and so needs one: then they are concurrent however slow the machine.
	e.fake.Hold("Reload")
	reads := e.fake.Calls("GetAll")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.call(p, timerIf+".Enable").Err
		}()
	}
	e.waitFor("every Enable to read its unit", func() bool {
		return e.fake.Calls("GetAll") >= reads+n && e.fake.Calls("Reload") >= 1
	})
	e.fake.Let("Reload")
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Enable %d: %v", i, err)
		}
	}
	reloads := e.fake.Calls("Reload")
	t.Logf("%d concurrent enables of stale units: %d daemon-reloads", n, reloads)
	if reloads < 1 || reloads >= n {
		t.Errorf("%d daemon-reloads for %d concurrent stale enables, want at least 1 and fewer than %d", reloads, n, n)
	}
	for _, p := range paths {
		if s := e.status(p); s != "enabled" {
			t.Errorf("%s: %s", p, s)
		}
	}
}

// TestReloadBurstSharesOneResync: daemon-reloads that come while a resync
// of every timer is under way share the next one, where a resync each
// would keep systemd listing every unit at 10,000 timers for as long as the
// burst lasts.
func TestReloadBurstSharesOneResync(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	e.create("burst")
	const burst = 10
	reload := func() {
		if err := e.conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call(
			"org.freedesktop.systemd1.Manager.Reload", 0).Err; err != nil {
			t.Fatal(err)
		}
	}
	before := e.fake.Calls("ListUnitsByPatterns")
	e.fake.Hold("ListUnitsByPatterns")
	reload()
	e.waitFor("the resync after the reload to list the units", func() bool { return e.fake.Calls("ListUnitsByPatterns") > before })
	for range burst {
		reload()
	}
	// The burst's Reloading signals reach the daemon while the first
	// resync is held.
	time.Sleep(500 * time.Millisecond)
	e.fake.Let("ListUnitsByPatterns")
	e.waitFor("the burst's resync", func() bool { return e.fake.Calls("ListUnitsByPatterns") > before+1 })
	time.Sleep(300 * time.Millisecond)
	passes := e.fake.Calls("ListUnitsByPatterns") - before
	t.Logf("%d daemon-reloads, %d during a resync: %d resyncs", burst+1, burst, passes)
	if passes > 3 {
		t.Errorf("%d daemon-reloads, %d of them during a resync, cost %d resyncs, want at most 3", burst+1, burst, passes)
	}
}

// TestSerializedPerTimerParallelAcross: while a job of one timer hangs,
// another timer is served; a second call on the hanging timer waits for
// the first to finish.
func TestSerializedPerTimerParallelAcross(t *testing.T) {
	t.Parallel()
	e := start(t, time.Minute)
	slow, fast := e.create("slow"), e.create("fast")
	if err := e.call(slow, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	e.fake.HangUnit("StartUnit", "snapm-create@slow.timer")

	startDone := make(chan error, 1)
	go func() { startDone <- e.call(slow, timerIf+".Start").Err }()
	e.waitFor("the Start to reach systemd", func() bool { return e.fake.Calls("StartUnit") > 0 })
	disableDone := make(chan error, 1)
	go func() { disableDone <- e.call(slow, timerIf+".Disable").Err }()

	for _, m := range []string{"Enable", "Start", "Stop", "Disable"} {
		if err := e.call(fast, timerIf+"."+m).Err; err != nil {
			t.Fatalf("%s on another timer: %v", m, err)
		}
	}
	select {
	case err := <-startDone:
		t.Fatalf("the hanging Start returned (%v) before another timer's calls were all served", err)
	case err := <-disableDone:
		t.Fatalf("Disable on the busy timer returned (%v) while its Start was still running", err)
	default:
	}
	// Only the other timer's Stop and Disable reached systemd: the queued
	// Disable did not run beside the Start.
	if n := e.fake.Calls("StopUnit"); n != 2 {
		t.Errorf("%d StopUnit calls while the Start hung, want the other timer's 2", n)
	}
	e.fake.Release("StartUnit", "snapm-create@slow.timer")
	if err := <-startDone; err != nil {
		t.Errorf("released Start: %v", err)
	}
	if err := <-disableDone; err != nil {
		t.Errorf("Disable after the hanging Start: %v", err)
	}
	if s := e.status(slow); s != "disabled" {
		t.Errorf("status %s after Disable", s)
	}
}
