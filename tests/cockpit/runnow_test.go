package cockpit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// Run now and the last run's outcome are offered exactly where the daemon
// has them (RunNow and LastRunResult, issue 10): the page asks the daemon,
// it does not assume.
func TestRunNowOnlyWhereOffered(t *testing.T) {
	conn := bus(t)
	path := newTimer(t, conn, "create", "run-now", "daily")
	hasRunNow := daemonHasRunNow(t, conn, path)
	_, hasLastRun := busProps(t, conn, path)["LastRunResult"]

	ctx := tab(t, rootURL)
	waitStatus(t, ctx, "create/run-now", "disabled")
	if offered := slices.Contains(menuItems(t, ctx, "create/run-now"), "Run now"); offered != hasRunNow {
		t.Errorf("Run now offered: %v; the daemon has RunNow: %v", offered, hasRunNow)
	}
	column := eval[bool](t, ctx, `[...document.querySelectorAll("#timers th")].some(th => th.textContent.trim() === "Last run")`)
	if column != hasLastRun {
		t.Errorf("Last run column shown: %v; the daemon has LastRunResult: %v", column, hasLastRun)
	}
	t.Logf("the daemon has RunNow: %v, LastRunResult: %v", hasRunNow, hasLastRun)
}

// daemonHasRunNow asks the daemon itself whether its timer object has RunNow.
func daemonHasRunNow(t *testing.T, conn *dbus.Conn, path dbus.ObjectPath) bool {
	t.Helper()
	var xml string
	if err := busCall(conn, path, "org.freedesktop.DBus.Introspectable.Introspect").Store(&xml); err != nil {
		t.Fatal(err)
	}
	return strings.Contains(xml, `<method name="RunNow">`) || strings.Contains(xml, `<method name="RunNow"/>`)
}

// Run now through the page: the run happens (systemd's own view of the
// service) and the row shows its outcome as systemd tells it. snapm is
// not installed in this namespace, so the run cannot execute: a failure
// the page must not show as success.
func TestRunNowThroughPage(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "gc", "run-page", schedule.GCCalendarSpec, "Enable", "Start")
	const name, service = "gc/run-page", "snapm-gc@run-page.service"
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

// A row's menu clicked before the daemon has said whether it has RunNow
// opens once it has, and then offers Run now where the daemon has it:
// it never offers less than the daemon has.
func TestMenuWaitsForRunNowAnswer(t *testing.T) {
	conn := bus(t)
	if !daemonHasRunNow(t, conn, newTimer(t, conn, "gc", "run-later", schedule.GCCalendarSpec)) {
		t.Skip("the daemon has no RunNow")
	}
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
	if early := eval[[]string](t, ctx, items); len(early) > 0 {
		t.Errorf("before the daemon said whether it has RunNow, the menu offers %q", early)
	}
	if got := waitFor[[]string](t, ctx, `(i => i.length ? i : null)(`+items+`)`); !slices.Contains(got, "Run now") {
		t.Errorf("once the daemon has answered, the menu offers %q, without Run now", got)
	}
}
