package cockpit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// Run now and the last run's outcome are part of the page: Run now in the
// menu of an idle timer, the Last run column in the table, each read from
// the daemon of the page's own release.
func TestRunNowAndLastRunShown(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "run-now", "daily")
	ctx := tab(t, rootURL)
	waitStatus(t, ctx, "create/run-now", "disabled")
	if items := menuItems(t, ctx, "create/run-now"); !slices.Contains(items, "Run now") {
		t.Errorf("the menu of an idle timer offers %q, without Run now", items)
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll("#timers th")].some(th => th.textContent.trim() === "Last run")`) {
		t.Error("the table has no Last run column")
	}
	if got := text(t, ctx, rowSel("create/run-now")+" .last-run"); got != "Not run since boot" {
		t.Errorf("the Last run of a timer that never ran reads %q", got)
	}
}

// Run now through the page: the run happens (systemd's own view of the
// service) and the row shows its outcome as systemd tells it. The
// service is made to fail by a drop-in (the real snapm is installed, and
// its gc of a schedule with no snapshot sets succeeds): a failure the page
// must not show as success.
func TestRunNowThroughPage(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "gc", "run-page", schedule.GCCalendarSpec, "Enable", "Start")
	const name, service = "gc/run-page", "snapm-gc@run-page.service"
	failingService(t, service)
	ctx := tab(t, rootURL)
	waitStatus(t, ctx, name, "running")
	lastRun := `document.querySelector('` + rowSel(name) + ` .last-run')?.dataset.result`
	waitJS(t, ctx, `!!document.querySelector('`+rowSel(name)+` .last-run')`)
	if got := eval[string](t, ctx, lastRun); got != "" {
		t.Fatalf("before any run the row shows %q", got)
	}
	action(t, ctx, name, "Run now")
	got := waitFor[string](t, ctx, `(r => r && r !== "running" ? r : null)(`+lastRun+`)`)
	if want := inNS(t, "systemctl", "show", "-P", "Result", service); got != want {
		t.Errorf("the row shows the result %q, systemctl show says %q", got, want)
	}
	status := inNS(t, "systemctl", "show", "-P", "ExecMainStatus", service)
	if label := text(t, ctx, rowSel(name)+" .last-run"); got == "success" || !strings.Contains(label, status) {
		t.Errorf("the row's last run reads %q (result %s, exit status %s)", label, got, status)
	}
	screenshot(t, ctx, "last-run-failed")
}

// slowIntrospect holds every Introspect the page asks for for 3 s: it
// wraps the bus client as cockpit.js is installed, before the page uses it.
const slowIntrospect = `(() => {
    let real;
    Object.defineProperty(window, "cockpit", { configurable: true, get: () => real, set: c => {
        const dbus = c.dbus;
        c.dbus = (...args) => {
            const client = dbus(...args);
            const call = client.call.bind(client);
            client.call = (path, iface, ...rest) => iface === "org.freedesktop.DBus.Introspectable"
                ? new Promise(resolve => window.setTimeout(resolve, 3000)).then(() => call(path, iface, ...rest))
                : call(path, iface, ...rest);
            return client;
        };
        real = c;
    } });
})()`

// The page knows the Timer interface from the daemon's XML, built in: a
// row's menu opens at once, whole, even while every Introspect the page
// might ask for is held back.
func TestMenuNeedsNoIntrospection(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "gc", "run-later", schedule.GCCalendarSpec)
	const name = "gc/run-later"
	ctx := blankTab(t)
	do(t, ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: slowIntrospect})
		return err
	}), chromedp.Navigate(rootURL))
	waitStatus(t, ctx, name, "disabled")
	do(t, ctx, chromedp.Click(kebab(name)))
	time.Sleep(500 * time.Millisecond)
	items := `[...document.querySelectorAll(".pf-v5-c-menu__item")].map(b => b.textContent.trim())`
	if got := eval[[]string](t, ctx, items); !slices.Contains(got, "Run now") {
		t.Errorf("0.5 s after the click, with Introspect held back, the menu offers %q, without Run now", got)
	}
}
