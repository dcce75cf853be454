package realsystemd

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/systemd"
)

// truthRecorder hears, on one connection and so in the bus's order, every
// signal the daemon publishes and systemd's own ActiveState changes of the
// units behind them, and holds each published state to what was true.
type truthRecorder struct {
	t *testing.T

	mu sync.Mutex
	// objects is each object's state as its signals tell it.
	objects map[dbus.ObjectPath]map[string]any
	// units maps systemd's unit paths to our objects.
	units map[dbus.ObjectPath]dbus.ObjectPath
	// active is every ActiveState systemd said of a unit, as "is active",
	// starting from a unit not loaded; at is where in it each object's
	// Running was last found. The daemon may lag behind systemd and skip
	// states, but never go back nor say what systemd did not.
	active map[dbus.ObjectPath][]bool
	at     map[dbus.ObjectPath]int
	// masked marks objects an outside mask may make invalid.
	masked map[dbus.ObjectPath]bool
	lies   []string
	count  int
	// trace is what was heard, for whoever reads a failure.
	trace []string
}

func recordTruth(t *testing.T) (*truthRecorder, *dbus.Conn) {
	conn := connect(t)
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchSender(busName), dbus.WithMatchPathNamespace(rootPath)},
		{dbus.WithMatchSender("org.freedesktop.systemd1"), dbus.WithMatchInterface(propsIf),
			dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchPathNamespace("/org/freedesktop/systemd1/unit")},
	} {
		if err := conn.AddMatchSignal(m...); err != nil {
			t.Fatal(err)
		}
	}
	r := &truthRecorder{t: t, objects: map[dbus.ObjectPath]map[string]any{}, units: map[dbus.ObjectPath]dbus.ObjectPath{},
		active: map[dbus.ObjectPath][]bool{}, at: map[dbus.ObjectPath]int{}, masked: map[dbus.ObjectPath]bool{}}
	ch := make(chan *dbus.Signal, 1024)
	conn.Signal(ch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sig := range ch {
			r.hear(sig)
		}
	}()
	t.Cleanup(func() {
		conn.RemoveSignal(ch)
		close(ch)
		<-done
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Logf("%d signals heard", r.count)
		for _, lie := range r.lies {
			t.Error(lie)
		}
		if t.Failed() {
			for _, line := range r.trace {
				t.Log(line)
			}
		}
	})
	return r, conn
}

func (r *truthRecorder) hear(sig *dbus.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	r.trace = append(r.trace, fmt.Sprintf("%s %s %s %v", time.Now().Format("15:04:05.000000"), sig.Path, sig.Name, sig.Body))
	switch sig.Name {
	case "org.freedesktop.DBus.ObjectManager.InterfacesAdded":
		path := sig.Body[0].(dbus.ObjectPath)
		props, isTimer := sig.Body[1].(map[string]map[string]dbus.Variant)[timerIf]
		if !isTimer {
			return // a schedule: its timers are what is checked here
		}
		state := map[string]any{}
		for k, v := range props {
			state[k] = v.Value()
		}
		r.objects[path] = state
		unit := systemd.UnitPath(state["Unit"].(string))
		r.units[unit] = path
		if r.active[unit] == nil {
			r.active[unit] = []bool{false}
		}
		r.at[path] = len(r.active[unit]) - 1
		r.check(path, "InterfacesAdded")
	case "org.freedesktop.DBus.ObjectManager.InterfacesRemoved":
		delete(r.objects, sig.Body[0].(dbus.ObjectPath))
	case propsIf + ".PropertiesChanged":
		changed := sig.Body[1].(map[string]dbus.Variant)
		if sig.Sender != busName && sig.Body[0] == "org.freedesktop.systemd1.Unit" {
			if v, ok := changed["ActiveState"]; ok {
				if r.active[sig.Path] == nil {
					r.active[sig.Path] = []bool{false}
				}
				r.active[sig.Path] = append(r.active[sig.Path], v.Value() == "active")
			}
			return
		}
		state := r.objects[sig.Path]
		if state == nil {
			return
		}
		if len(changed) == 0 {
			r.lies = append(r.lies, fmt.Sprintf("%s: a PropertiesChanged that changes nothing", sig.Path))
		}
		for k, v := range changed {
			if state[k] == v.Value() {
				r.lies = append(r.lies, fmt.Sprintf("%s: PropertiesChanged repeats %s=%v", sig.Path, k, v.Value()))
			}
			state[k] = v.Value()
		}
		r.check(sig.Path, fmt.Sprint(changed))
	}
}

// check holds the object's state, as just published, to the status table
// and to what systemd said since the object's previous signal; r.mu held.
func (r *truthRecorder) check(path dbus.ObjectPath, what string) {
	s := r.objects[path]
	status, enabled, running := s["Status"].(string), s["Enabled"].(bool), s["Running"].(bool)
	lie := func(why string) {
		r.lies = append(r.lies, fmt.Sprintf("%s: published %s: %s (state %v)", path, what, why, s))
	}
	switch {
	case status == "running" && !(enabled && running),
		status == "enabled" && !(enabled && !running),
		status == "disabled" && (enabled || running):
		lie("Status " + status + " with Enabled " + fmt.Sprint(enabled) + ", Running " + fmt.Sprint(running))
	case status == "invalid" && !(r.masked[path] && !enabled):
		lie("Status invalid, though nothing is wrong with the timer but a mask, and only while not enabled")
	}
	switch reason := s["StatusReason"].(string); {
	case status == "invalid" && reason == "":
		lie("Status invalid without a StatusReason")
	case status != "invalid" && reason != "" && reason != "masked":
		lie("StatusReason " + reason + " beside Status " + status)
	case reason == "masked" && !r.masked[path]:
		lie("StatusReason masked, though nobody masked it")
	}
	if s["NextElapse"].(uint64) == 0 || !s["Occurs"].(bool) {
		lie("no next elapse, though the calendar has one")
	}
	history := r.active[systemd.UnitPath(s["Unit"].(string))]
	at := r.at[path]
	for at < len(history) && history[at] != running {
		at++
	}
	if at == len(history) {
		lie(fmt.Sprintf("Running %t, which systemd has not said since the previous Running", running))
		return
	}
	r.at[path] = at
}

func (r *truthRecorder) setMasked(path dbus.ObjectPath, masked bool) {
	r.mu.Lock()
	r.masked[path] = masked
	r.mu.Unlock()
}

// settle waits until the object's signals say Status want and nothing has
// come for a while, then holds them to the object's properties: the
// signals must have told every change.
func (r *truthRecorder) settle(conn *dbus.Conn, path dbus.ObjectPath, want string, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		got := r.objects[path]["Status"]
		r.mu.Unlock()
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: no signal took Status to %s within %v (signals say %v)", path, want, within, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	all := props(r.t, conn, path)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range all {
		if r.objects[path][k] != v.Value() {
			r.t.Errorf("%s: signals say %s=%v, the object %v", path, k, r.objects[path][k], v.Value())
		}
	}
}

// waitTrigger waits for the signals to report an elapse after since.
func (r *truthRecorder) waitTrigger(path dbus.ObjectPath, since uint64) {
	r.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		last := r.objects[path]["LastTrigger"].(uint64)
		r.mu.Unlock()
		if last > since {
			return
		}
	}
	r.t.Fatalf("%s: no elapse reported within 15 s", path)
}

// TestPublishedStateIsTrue takes fresh timers through their lifecycle,
// through the daemon and from outside, and fails on any published value
// that was not true when it was published.
func TestPublishedStateIsTrue(t *testing.T) {
	rec, conn := recordTruth(t)
	const name = "truth"
	unit := "snapm-create@" + name + ".timer"
	preciseElapses(t, unit)
	path := create(t, conn, "create", name, "*:*:0/2")
	rec.settle(conn, path, "disabled", 2*time.Second)

	daemonCall := func(method string) func() { return func() { mustCall(t, conn, path, timerIf+"."+method) } }
	systemctl := func(argv ...string) func() { return func() { inNS(t, append([]string{"systemctl"}, argv...)...) } }
	for _, step := range []struct {
		what   string
		do     func()
		status string
	}{
		{"Enable", daemonCall("Enable"), "enabled"},
		{"first Start", daemonCall("Start"), "running"},
		{"an elapse", func() { rec.waitTrigger(path, usecNow()) }, "running"},
		{"Stop", daemonCall("Stop"), "enabled"},
		{"systemctl start", systemctl("start", unit), "running"},
		{"another elapse", func() { rec.waitTrigger(path, usecNow()) }, "running"},
		{"systemctl stop", systemctl("stop", unit), "enabled"},
		{"Start", daemonCall("Start"), "running"},
		{"systemctl daemon-reload", systemctl("daemon-reload"), "running"},
		{"Disable while running", daemonCall("Disable"), "disabled"},
		{"Enable again", daemonCall("Enable"), "enabled"},
		{"systemctl mask --runtime", func() { rec.setMasked(path, true); systemctl("mask", "--runtime", unit)() }, "invalid"},
		{"systemctl unmask --runtime", systemctl("unmask", "--runtime", unit), "enabled"},
		{"systemctl start after unmask", func() { rec.setMasked(path, false); systemctl("start", unit)() }, "running"},
		{"Disable", daemonCall("Disable"), "disabled"},
	} {
		step.do()
		rec.settle(conn, path, step.status, 5*time.Second)
		t.Logf("%s: %s", step.what, step.status)
	}

	// A second fresh timer, started first from outside.
	outside := create(t, conn, "create", name+"-outside", "hourly")
	mustCall(t, conn, outside, timerIf+".Enable")
	inNS(t, "systemctl", "start", "snapm-create@"+name+"-outside.timer")
	rec.settle(conn, outside, "running", time.Second)
	mustCall(t, conn, outside, timerIf+".Disable")
	rec.settle(conn, outside, "disabled", 2*time.Second)
}
