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
)

const loadTimers = 1000

// A hang guard for the 1,000-row page on a busy machine; the figures are
// what count, and they are printed.
const loadHang = 3 * time.Minute

// With 1,000 timers: how long the table takes to render after navigation,
// and how long an outside change takes to show. Figures, printed; the
// hang guard is the only limit.
func TestThousandTimers(t *testing.T) {
	conn := bus(t)
	// Each schedule file brings two timers: half as many schedules, and
	// both timers of each created.
	const schedules = loadTimers / 2
	for i := 0; i < schedules; i++ {
		withSchedule(t, fmt.Sprintf("load-%04d", i), "daily")
	}
	paths := make([]dbus.ObjectPath, loadTimers)
	var wg sync.WaitGroup
	errs := make(chan error, loadTimers)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < loadTimers; i += 8 {
				typ, spec := "create", "daily"
				if i >= schedules {
					typ, spec = "gc", "*-*-* *:10:00"
				}
				errs <- busCall(conn, rootPath, managerIf+".CreateTimer", typ, fmt.Sprintf("load-%04d", i%schedules), spec).Store(&paths[i])
			}
		}()
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		for _, p := range paths {
			if p != "" {
				busCall(conn, rootPath, managerIf+".RemoveTimer", p)
			}
		}
	})
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	const name = "create/load-0250"
	for _, m := range []string{"Enable", "Start"} {
		if err := busCall(conn, paths[250], timerIf+"."+m).Err; err != nil {
			t.Fatal(err)
		}
	}

	// The two tabs that hold the sessions open re-render as the timers
	// appear; the figures are this page's, so they start once those have
	// caught up.
	for _, a := range anchors {
		waitWithin[chromedp.Void](t, a, fmt.Sprintf(`%s === "%d"`, totalJS, loadTimers), loadHang)
	}

	ctx := blankTab(t)
	// Making 1,000 timers leaves the kernel writing back their records
	// and directories, and the new tab starting, for a second or two,
	// which would share the cores with the page. An admin opens the page
	// on a machine at rest.
	t.Logf("%d timers: the machine at rest %v after the set-up (%s)", loadTimers, settle(t), inNS(t, "cat", "/proc/loadavg"))
	introspects := countIntrospects(t)
	doWithin(t, ctx, loadHang, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchSteps})
		return err
	}), chromedp.Navigate(rootURL))
	// Rendered: the first page of rows is in the document and the
	// pagination counts every timer.
	rendered := waitWithin[float64](t, ctx, fmt.Sprintf(`%s === "%d" && !!document.querySelector("tr[data-timer]") && performance.now()`, totalJS, loadTimers), loadHang)
	// The bridge can walk the tree and introspect every timer, one call
	// at a time, before the table shows (see watchTimers in client.js);
	// the page itself knows the interface from the XML.
	if n := introspects(); n > 0 {
		t.Errorf("%d timers: loading the page introspected %d timer objects, want none", loadTimers, n)
	}
	steps := eval[[]step](t, ctx, stepsJS)
	at := map[string]float64{}
	for _, s := range steps {
		at[s.Name] = s.At
	}
	t.Logf("%d timers: table rendered %.0f ms after navigation: %.0f ms to start the watch, %.0f ms for the daemon and cockpit-bridge to send the timers, %.0f ms to draw them",
		loadTimers, rendered, at["watch"], at["notify"]-at["watch"], rendered-at["notify"])
	t.Logf("%d timers: its steps, ms after navigation (+ since the step before): %s", loadTimers, stepList(steps))

	// Any timer is a filter away.
	typeInto(t, ctx, "#filter-name input", "load-0250")
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "running"`, loadHang)

	start := time.Now()
	inNS(t, "systemctl", "stop", "snapm-create@load-0250.timer")
	returned := time.Since(start)
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "enabled"`, loadHang)
	t.Logf("%d timers: systemctl stop from outside shown in the row %v after it was issued (systemctl itself took %v)",
		loadTimers, time.Since(start).Round(time.Millisecond), returned.Round(time.Millisecond))
}

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

// countIntrospects starts counting the Introspect calls made of timer
// objects (not the root), as dbus-monitor sees them on the namespace's bus;
// the function it returns stops counting and says how many there were.
func countIntrospects(t *testing.T) func() int {
	t.Helper()
	mon := ns.Command(context.Background(), "stdbuf", "-oL", "dbus-monitor", "--system", "--profile",
		"type='method_call',interface='org.freedesktop.DBus.Introspectable',path_namespace='"+string(rootPath)+"'")
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
	count := make(chan int, 1)
	go func() {
		n := 0
		for lines.Scan() {
			// mc TIME SERIAL SENDER DESTINATION PATH INTERFACE MEMBER
			if f := strings.Fields(lines.Text()); len(f) == 8 && f[0] == "mc" && strings.HasPrefix(f[5], string(rootPath)+"/") {
				n++
			}
		}
		count <- n
	}()
	return func() int {
		// Whatever it has read by now has been counted once it ends.
		time.Sleep(100 * time.Millisecond)
		mon.Process.Kill()
		mon.Wait()
		return <-count
	}
}
