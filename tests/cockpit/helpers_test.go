package cockpit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"
)

// A hang guard, not a timing assertion: the figures are printed.
const hang = 60 * time.Second

const (
	busName   = "com.redhat.Snapm.Timers"
	managerIf = busName + ".Manager"
	timerIf   = busName + ".Timer"
	rootPath  = dbus.ObjectPath("/com/redhat/Snapm/Timers")
)

// bus is a root connection to the namespace's system bus, for setting up
// and for reading the daemon's side of what the page did.
func bus(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(ns.BusAddress())
	if err != nil {
		t.Fatalf("connecting to the namespace's bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func busCall(conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return busCallWithin(conn, hang, path, method, args...)
}

// busCallWithin is busCall with another hang guard, for calls that wait
// behind many others.
func busCallWithin(conn *dbus.Conn, guard time.Duration, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	return conn.Object(busName, path).CallWithContext(ctx, method, 0, args...)
}

// withSchedule writes snapm's schedule file of name with calendar spec,
// which a timer needs, unless one is there, and removes it when the test
// ends.
func withSchedule(t *testing.T, name, spec string) {
	t.Helper()
	file := ns.SnapmDirPath("schedule.d", name+".json")
	if _, err := os.Stat(file); err == nil {
		return
	}
	if err := ns.WriteSchedule(name, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })
}

// newTimer creates TYPE/NAME (and its schedule) through the bus, takes it
// through methods (Enable, Start), and removes it when the test ends.
func newTimer(t *testing.T, conn *dbus.Conn, typ, name, spec string, methods ...string) dbus.ObjectPath {
	t.Helper()
	withSchedule(t, name, spec)
	var path dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".CreateTimer", typ, name, spec).Store(&path); err != nil {
		t.Fatalf("CreateTimer %s/%s: %v", typ, name, err)
	}
	t.Cleanup(func() { busCall(conn, rootPath, managerIf+".RemoveTimer", path) })
	for _, m := range methods {
		if err := busCall(conn, path, timerIf+"."+m).Err; err != nil {
			t.Fatalf("%s %s/%s: %v", m, typ, name, err)
		}
	}
	return path
}

// removeLater removes a timer the page created when the test ends.
func removeLater(t *testing.T, typ, name string) {
	conn := bus(t)
	t.Cleanup(func() {
		var path dbus.ObjectPath
		if busCall(conn, rootPath, managerIf+".GetTimer", typ, name).Store(&path) == nil {
			busCall(conn, rootPath, managerIf+".RemoveTimer", path)
		}
	})
}

// inNS runs a command in the namespace as root and returns its stdout;
// systemctl's negative answers (is-active: inactive) exit non-zero and are
// answers too, so the exit status is not judged here.
func inNS(t *testing.T, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	out, _ := ns.Command(ctx, argv...).Output()
	return strings.TrimSpace(string(out))
}

// tab opens url in a new tab of the shared browser, waits until the page
// has loaded its data (table, empty state or message) and closes the tab
// when the test ends.
func tab(t *testing.T, url string) context.Context {
	t.Helper()
	return tabWithin(t, url, hang)
}

// tabWithin is tab with a longer hang guard, for pages with many rows on
// a machine that may be busy.
func tabWithin(t *testing.T, url string, guard time.Duration) context.Context {
	t.Helper()
	ctx := blankTab(t)
	doWithin(t, ctx, guard, chromedp.Navigate(url))
	waitWithin[chromedp.Void](t, ctx, loaded, guard)
	return ctx
}

// blankTab opens a new tab of the shared browser, closed when the test ends.
func blankTab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The tab's first run has no timeout: that would close the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// loaded is true once the page shows the daemon's data or why it cannot.
const loaded = `!!document.querySelector("#timers, #empty-state, #service-absent")`

// do runs browser actions under the hang guard.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	doWithin(t, ctx, hang, steps...)
}

func doWithin(t *testing.T, ctx context.Context, guard time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, guard)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is true in the page, checking on every frame.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	waitFor[chromedp.Void](t, ctx, expr)
}

// waitFor waits until expr is truthy in the page and returns its value.
func waitFor[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return waitWithin[T](t, ctx, expr, hang)
}

func waitWithin[T any](t *testing.T, ctx context.Context, expr string, guard time.Duration) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, guard)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(guard)))
	if err != nil {
		t.Fatalf("waiting for %s in the page: %v; the page says:\n%s", expr, err, pageText(t, ctx))
	}
	return v
}

// rowSel is the table row of TYPE/NAME.
func rowSel(name string) string { return `tr[data-timer="` + name + `"]` }

// rowStatusJS is the status the page shows for a row, "" when there is no row.
func rowStatusJS(name string) string {
	return `(() => { const l = document.querySelector('` + rowSel(name) + ` .status-label'); return l ? l.dataset.status : ""; })()`
}

func waitStatus(t *testing.T, ctx context.Context, name, status string) {
	t.Helper()
	waitJS(t, ctx, rowStatusJS(name)+` === "`+status+`"`)
}

func kebab(name string) chromedp.CSS {
	return chromedp.CSS(rowSel(name) + ` td.pf-v5-c-table__action button`)
}

func menuItem(text string) chromedp.Search {
	return chromedp.Search(menuItemXPath(text))
}

func menuItemXPath(text string) string {
	return `//button[contains(@class,"pf-v5-c-menu__item")][normalize-space(.)="` + text + `"]`
}

// action opens the row's menu and picks an item. The item is picked by
// its own click event, not by the mouse at its coordinates: the menu is
// placed by popper after it opens, and a click at where the item first
// showed would land outside the menu, close it and pick nothing.
func action(t *testing.T, ctx context.Context, name, item string) {
	t.Helper()
	do(t, ctx, chromedp.Click(kebab(name)), chromedp.WaitVisible(menuItem(item)))
	eval[chromedp.Void](t, ctx, `document.evaluate('`+menuItemXPath(item)+`', document, null,
		XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.click()`)
}

// menuItems lists what a row's menu offers, and closes the menu.
func menuItems(t *testing.T, ctx context.Context, name string) []string {
	t.Helper()
	do(t, ctx, chromedp.Click(kebab(name)), chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
	items := eval[[]string](t, ctx, `[...document.querySelectorAll(".pf-v5-c-menu__item")].map(b => b.textContent.trim())`)
	do(t, ctx, chromedp.KeyEvent("\x1b"), chromedp.WaitNotPresent(chromedp.CSS(`.pf-v5-c-menu`)))
	return items
}

// typeInto replaces an input's text by typing, as a user would.
func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `document.querySelector('`+sel+`').select()`)
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(eval[string](t, ctx, `document.querySelector('`+sel+`').textContent`))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// pageText is what the page shows, for failure messages; it also saves a
// screenshot named after the test.
func pageText(t *testing.T, ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(shots, "failed-"+strings.ReplaceAll(t.Name(), "/", "-")+".png"), png, 0o644)
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
	if err != nil {
		return err.Error()
	}
	return s
}
