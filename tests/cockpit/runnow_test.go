package cockpit

import (
	"slices"
	"strings"
	"testing"
)

// Run now and the last run's outcome are offered exactly where the daemon
// has them (RunNow and LastRunResult, issue 10): the page asks the daemon,
// it does not assume.
func TestRunNowOnlyWhereOffered(t *testing.T) {
	conn := bus(t)
	path := newTimer(t, conn, "create", "run-now", "daily")
	var xml string
	if err := busCall(conn, path, "org.freedesktop.DBus.Introspectable.Introspect").Store(&xml); err != nil {
		t.Fatal(err)
	}
	hasRunNow := strings.Contains(xml, `<method name="RunNow">`) || strings.Contains(xml, `<method name="RunNow"/>`)
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

// Run now through the page: the run happens (systemd's own view of the
// service) and the row shows its outcome as systemd tells it. snapm is
// not installed in this namespace, so the run cannot execute: a failure
// the page must not show as success.
func TestRunNowThroughPage(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "gc", "run-page", "daily", "Enable", "Start")
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
