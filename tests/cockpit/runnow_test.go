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
