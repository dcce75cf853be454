package cockpit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	paths := make([]dbus.ObjectPath, loadTimers)
	var wg sync.WaitGroup
	errs := make(chan error, loadTimers)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < loadTimers; i += 8 {
				errs <- busCall(conn, rootPath, managerIf+".CreateTimer", "create", fmt.Sprintf("load-%04d", i), "daily").Store(&paths[i])
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
	const name = "create/load-0500"
	for _, m := range []string{"Enable", "Start"} {
		if err := busCall(conn, paths[500], timerIf+"."+m).Err; err != nil {
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
	doWithin(t, ctx, loadHang, chromedp.Navigate(rootURL))
	// Rendered: the first page of rows is in the document and the
	// pagination counts every timer.
	rendered := waitWithin[float64](t, ctx, fmt.Sprintf(`%s === "%d" && !!document.querySelector("tr[data-timer]") && performance.now()`, totalJS, loadTimers), loadHang)
	steps := eval[[]step](t, ctx, stepsJS)
	at := map[string]float64{}
	for _, s := range steps {
		at[s.Name] = s.At
	}
	t.Logf("%d timers: table rendered %.0f ms after navigation: %.0f ms to start the watch, %.0f ms for the daemon and cockpit-bridge to send the timers, %.0f ms to draw them",
		loadTimers, rendered, at["watch"], at["notify"]-at["watch"], rendered-at["notify"])
	t.Logf("%d timers: its steps, ms after navigation (+ since the step before): %s", loadTimers, stepList(steps))

	// Any timer is a filter away.
	typeInto(t, ctx, "#filter-name input", "load-0500")
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "running"`, loadHang)

	start := time.Now()
	inNS(t, "systemctl", "stop", "snapm-create@load-0500.timer")
	returned := time.Since(start)
	waitWithin[chromedp.Void](t, ctx, rowStatusJS(name)+` === "enabled"`, loadHang)
	t.Logf("%d timers: systemctl stop from outside shown in the row %v after it was issued (systemctl itself took %v)",
		loadTimers, time.Since(start).Round(time.Millisecond), returned.Round(time.Millisecond))
}

// totalJS is how many timers the page's pagination counts, as text.
const totalJS = `document.querySelector("#timers-pagination-top .pf-v5-c-pagination__total-items b:last-of-type")?.textContent`

// A step of the page's loading and when it came, in ms after navigation.
// The page marks its own (cockpit/src: mark): script, index.js runs;
// watch, the watch is sent; page, the page is drawn (React and PatternFly
// evaluated, the stylesheet loaded), saying it is loading; notify, the
// timers arrive from the bridge; objects, the bridge answers the watch;
// render, the table starts rendering; rows, its rows are in the document;
// runnow, the daemon has said whether timers have RunNow (the row menus
// wait for it). The browser's own: when it had each script and stylesheet.
type step struct {
	Name string  `json:"name"`
	At   float64 `json:"at"`
}

const stepsJS = `[
	...performance.getEntriesByType("mark").filter(m => m.name.startsWith("snapm-timers:"))
		.map(m => ({ name: m.name.slice("snapm-timers:".length), at: m.startTime })),
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
