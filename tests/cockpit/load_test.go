package cockpit

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

// The figure: 500 schedules made as `snapm schedule create` makes
// them, each with its create and gc timer, enabled and running.
const (
	loadSchedules = 500
	loadTimers    = 2 * loadSchedules
)

// The page is opened this many times on the machine at rest; the median
// and the spread of the figures are printed.
const loadNavigations = 5

// A hang guard for the 1,000-row page on a busy machine; the figures are
// what count, and they are printed.
const loadHang = 3 * time.Minute

// With 1,000 timers of 500 schedules: how long the page takes to be drawn
// after navigation, and how long an outside change takes to show.
// Figures, printed; the hang guard is the only limit.
func TestThousandTimers(t *testing.T) {
	conn := bus(t)
	quietServices(t)
	loadSchedulesOnBus(t, conn)

	// The two tabs that hold the sessions open re-render as the timers
	// appear; the figures are this page's, so they start once those have
	// caught up.
	for _, a := range anchors {
		waitWithin[chromedp.Void](t, a, drawnJS, loadHang)
	}

	ctx := blankTab(t)
	doWithin(t, ctx, loadHang, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchSteps})
		return err
	}))
	var drawn []float64
	for i := 1; i <= loadNavigations; i++ {
		// Making 1,000 timers leaves the kernel writing back their
		// records and directories, and a page just drawn leaves the
		// browser collecting its garbage, for a second or two, which
		// would share the cores with the page. An admin opens the page
		// on a machine at rest.
		t.Logf("navigation %d: the machine at rest %v after the set-up or the navigation before (%s)", i, settle(t), inNS(t, "cat", "/proc/loadavg"))
		drawn = append(drawn, loadPage(t, ctx, fmt.Sprintf("navigation %d", i)))
	}
	figure := fmt.Sprintf("%d timers of %d schedules: the page drawn in %s after navigation", loadTimers, loadSchedules, spread(drawn))
	t.Log(figure)
	if err := nstest.Summary(t.Name() + ": " + figure); err != nil {
		t.Error(err)
	}

	// Where the time goes: one more navigation, under Chromium's tracing,
	// which slows it down.
	t.Logf("traced navigation: the machine at rest %v", settle(t))
	var rendered float64
	events := traced(t, ctx, func() { rendered = loadPage(t, ctx, "traced navigation") })
	if b, err := breakdown(events, rendered); err != nil {
		t.Errorf("traced navigation: %v", err)
	} else {
		t.Logf("traced navigation: page drawn %.0f ms after navigation; %s", rendered, b)
	}

	// Any timer is a filter away.
	const name = "create/load-0250"
	typeInto(t, ctx, "#filter-name input", "load-0250")
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "running"`, loadHang)

	start := time.Now()
	inNS(t, "systemctl", "stop", "snapm-create@load-0250.timer")
	returned := time.Since(start)
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "enabled"`, loadHang)
	t.Logf("%d timers: systemctl stop from outside shown in the row %v after it was issued (systemctl itself took %v)",
		loadTimers, time.Since(start).Round(time.Millisecond), returned.Round(time.Millisecond))
}

// loadPage opens the page in ctx, checks that its load asked the bridge
// for no more than it needs, prints its steps and returns when it was
// drawn, in ms after navigation.
func loadPage(t *testing.T, ctx context.Context, label string) float64 {
	t.Helper()
	calls := busCalls(t, "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.ObjectManager")
	doWithin(t, ctx, loadHang, chromedp.Navigate(rootURL))
	rendered := waitWithin[float64](t, ctx, drawnJS+" && performance.now()", loadHang)
	// The bridge can walk the tree and introspect every object, one call
	// at a time, before the table shows, and it asks for every object at
	// each watch of a namespace (see watchTimers in client.js); the page
	// itself knows the interfaces from the XML.
	var introspects, managed int
	for _, c := range calls() {
		method, path, _ := strings.Cut(c, " ")
		switch {
		case method == "org.freedesktop.DBus.ObjectManager.GetManagedObjects":
			managed++
		case path != string(rootPath):
			introspects++
		}
	}
	if introspects > 0 {
		t.Errorf("%s: loading the page introspected %d objects under the root, want none", label, introspects)
	}
	if managed != 1 {
		t.Errorf("%s: loading the page asked for the managed objects %d times, want once", label, managed)
	}
	steps := eval[[]step](t, ctx, stepsJS)
	at := map[string]float64{}
	for _, s := range steps {
		at[s.Name] = s.At
	}
	t.Logf("%s: page drawn %.0f ms after navigation: %.0f ms to start the watch, %.0f ms for the daemon and cockpit-bridge to send the objects, %.0f ms to draw them",
		label, rendered, at["watch"], at["notify"]-at["watch"], rendered-at["notify"])
	t.Logf("%s: its steps, ms after navigation (+ since the step before): %s", label, stepList(steps))
	return rendered
}

// quietServices keeps the load test's running timers from running snapm
// when they elapse: the 500 gc timers all elapse at minute 10 of every
// hour, and as many snapm processes at once stall the machine for
// minutes. For the test's length, the services run /bin/true.
func quietServices(t *testing.T) {
	t.Helper()
	var dirs []string
	for _, typ := range []string{"create", "gc"} {
		dir := ns.UnitDirPath("snapm-" + typ + "@.service.d")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
		if err := os.WriteFile(dir+"/zz-load-test.conf", []byte("[Service]\nExecStart=\nExecStart=/bin/true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inNS(t, "systemctl", "daemon-reload")
	t.Cleanup(func() {
		for _, dir := range dirs {
			os.RemoveAll(dir)
		}
		inNS(t, "systemctl", "daemon-reload")
	})
}

// loadSchedulesOnBus makes the load test's schedules through the daemon's
// CreateSchedule, many at once, and deletes them the same way when the
// test ends: one after the other, each of the daemon's reloads would take
// a second. A call may wait behind all the others in flight, longer than
// one call's usual hang guard on a busy machine.
func loadSchedulesOnBus(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	paths := make([]dbus.ObjectPath, loadSchedules)
	errs := make([]error, loadSchedules)
	all := map[string]dbus.Variant{"policy_type": dbus.MakeVariant("all")}
	start := time.Now()
	onWorkers(loadSchedules, func(i int) {
		errs[i] = busCallWithin(conn, loadHang, rootPath, managerIf+".CreateSchedule", loadName(i), []string{"/"}, "daily", all).Store(&paths[i])
	})
	t.Logf("%d schedules made in %v", loadSchedules, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		start := time.Now()
		onWorkers(loadSchedules, func(i int) {
			// A create whose answer came too late may still have made
			// the schedule.
			if paths[i] == "" && busCall(conn, rootPath, managerIf+".GetSchedule", loadName(i)).Store(&paths[i]) != nil {
				return
			}
			busCallWithin(conn, loadHang, rootPath, managerIf+".DeleteSchedule", paths[i])
		})
		t.Logf("%d schedules deleted in %v", loadSchedules, time.Since(start).Round(time.Millisecond))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CreateSchedule %s: %v", loadName(i), err)
		}
	}
}

// loadClients is how many calls the load test's set-up and clean-up keep
// in flight: the daemon shares one systemd reload among the disables
// that wait for it, and each reload takes a second with 1,000 timers.
const loadClients = 32

// loadName is the name of the load test's schedule i.
func loadName(i int) string { return fmt.Sprintf("load-%04d", i) }

// onWorkers runs fn for 0..n-1 from loadClients goroutines and waits for
// them.
func onWorkers(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for w := 0; w < loadClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += loadClients {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// spread says figures in ms as their median, least and most.
func spread(ms []float64) string {
	s := slices.Sorted(slices.Values(ms))
	mid := s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + mid) / 2
	}
	return fmt.Sprintf("median %.0f ms (%.0f to %.0f ms over %d navigations)", mid, s[0], s[len(s)-1], len(s))
}

// drawnJS is true once the page is drawn: the first page of each table is
// in the document and their paginations count every schedule and timer.
var drawnJS = fmt.Sprintf(`%s === "%d" && %s === "%d" && !!document.querySelector("tr[data-timer]") && !!document.querySelector("tbody[data-schedule]")`,
	totalJS, loadTimers, schedulesTotalJS, loadSchedules)

// schedulesTotalJS is how many schedules the page's pagination counts, as text.
const schedulesTotalJS = `document.querySelector("#schedules-pagination .pf-v5-c-pagination__total-items b:last-of-type")?.textContent`

// totalJS is how many timers the page's pagination counts, as text.
const totalJS = `document.querySelector("#timers-pagination-top .pf-v5-c-pagination__total-items b:last-of-type")?.textContent`

// A step of the page's loading and when it came, in ms after navigation,
// as watchSteps sees it from outside the page's code: script, cockpit.js
// is installed; watch, the page asks the bus channel for its first watch
// (the daemon's root); root, the bridge holds the root and the timers are
// asked for; notify, the first timers arrive from the bridge; objects, the
// bridge answers the watch of the timers; page, the page is drawn, saying
// it is loading; rows, the table's rows are in the document. The
// browser's own: when it had each script and stylesheet.
type step struct {
	Name string  `json:"name"`
	At   float64 `json:"at"`
}

// watchSteps is put in the page before its own scripts: it wraps the bus
// client that cockpit.js installs to time the page's watches and the
// bridge's notifies, and a MutationObserver times what the document shows.
const watchSteps = `(() => {
    const steps = window.snapmTestSteps = [];
    const seen = new Set();
    const step = name => {
        if (!seen.has(name)) {
            seen.add(name);
            steps.push({ name, at: performance.now() });
        }
    };
    let real;
    Object.defineProperty(window, "cockpit", { configurable: true, get: () => real, set: c => {
        step("script");
        const dbus = c.dbus;
        c.dbus = (...args) => {
            const client = dbus(...args);
            if (args[0] !== "com.redhat.Snapm.Timers")
                return client;
            const watch = client.watch.bind(client);
            let watches = 0;
            client.watch = (...w) => {
                const n = watches++;
                step(n === 0 ? "watch" : "timers asked");
                return watch(...w).then(r => { step(n === 0 ? "root" : "objects"); return r });
            };
            client.addEventListener("notify", (_ev, data) => {
                if (Object.keys(data).some(p => p.startsWith("/com/redhat/Snapm/Timers/")))
                    step("notify");
            });
            return client;
        };
        real = c;
    } });
    new MutationObserver(() => {
        if (document.querySelector("#loading"))
            step("page");
        if (document.querySelector("tr[data-timer]"))
            step("rows");
    }).observe(document, { childList: true, subtree: true });
})()`

const stepsJS = `[
	...window.snapmTestSteps,
	...performance.getEntriesByType("resource").filter(r => /\.(js|css)$/.test(r.name))
		.map(r => ({ name: r.name.split("/").pop() + " loaded", at: r.responseEnd })),
]`

// stepList lists steps in the order they came.
func stepList(steps []step) string {
	slices.SortFunc(steps, func(a, b step) int { return cmp.Compare(a.At, b.At) })
	var out []string
	last := 0.0
	for _, s := range steps {
		out = append(out, fmt.Sprintf("%s %.0f (+%.0f)", s.Name, s.At, s.At-last))
		last = s.At
	}
	return strings.Join(out, ", ")
}

// settle flushes what the set-up wrote and waits until the CPUs have been
// at least 90% idle for half a second (or 30 s have passed); it returns
// how long that took.
func settle(t *testing.T) time.Duration {
	start := time.Now()
	inNS(t, "sync")
	quiet := 0
	for busy := cpuTicks(t); quiet < 2 && time.Since(start) < 30*time.Second; {
		time.Sleep(250 * time.Millisecond)
		now := cpuTicks(t)
		if idle, total := now[1]-busy[1], now[0]-busy[0]; total > 0 && idle*10 >= total*9 {
			quiet++
		} else {
			quiet = 0
		}
		busy = now
	}
	return time.Since(start).Round(time.Millisecond)
}

// cpuTicks reads the machine's CPU time from /proc/stat: all of it and
// the idle part, in ticks.
func cpuTicks(t *testing.T) [2]uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var out [2]uint64
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		out[0] += n
		if i == 3 || i == 4 { // idle, iowait
			out[1] += n
		}
	}
	return out
}

// busCalls starts recording the calls of the daemon's objects (the root
// and those under it) to the interfaces ifaces, as dbus-monitor sees them
// on the namespace's bus; the function it returns stops recording and
// says which calls there were, as "INTERFACE.MEMBER PATH".
func busCalls(t *testing.T, ifaces ...string) func() []string {
	t.Helper()
	args := []string{"stdbuf", "-oL", "dbus-monitor", "--system", "--profile"}
	for _, iface := range ifaces {
		args = append(args, "type='method_call',interface='"+iface+"',path_namespace='"+string(rootPath)+"'")
	}
	mon := ns.Command(context.Background(), args...)
	out, err := mon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	// Its first line is its own NameAcquired: from then on it sees all.
	if !lines.Scan() {
		t.Fatalf("dbus-monitor: %v", lines.Err())
	}
	seen := make(chan []string, 1)
	go func() {
		var calls []string
		for lines.Scan() {
			// mc TIME SERIAL SENDER DESTINATION PATH INTERFACE MEMBER
			if f := strings.Fields(lines.Text()); len(f) == 8 && f[0] == "mc" {
				calls = append(calls, f[6]+"."+f[7]+" "+f[5])
			}
		}
		seen <- calls
	}()
	return func() []string {
		// Whatever it has read by now has been recorded once it ends.
		time.Sleep(100 * time.Millisecond)
		mon.Process.Kill()
		mon.Wait()
		return <-seen
	}
}
