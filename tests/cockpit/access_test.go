package cockpit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// A session of uid 65534 sees every schedule, live, and can change none:
// every action is disabled and says why.
func TestReadOnlyWithoutAdmin(t *testing.T) {
	conn := bus(t)
	path := newTimer(t, conn, "create", "read-only", "daily", "Enable", "Start")
	newTimer(t, conn, "gc", "read-only", schedule.GCCalendarSpec)
	ctx := tab(t, nobodyURL)
	waitStatus(t, ctx, "create/read-only", "running")
	waitStatus(t, ctx, "gc/read-only", "disabled")

	var listed []dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".ListTimers").Store(&listed); err != nil {
		t.Fatal(err)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("tr[data-timer]").length`); rows != len(listed) {
		t.Errorf("the page lists %d timers, the daemon %d", rows, len(listed))
	}
	if !eval[bool](t, ctx, `document.querySelector("#create-timer").getAttribute("aria-disabled") === "true"`) {
		t.Error("Create schedule is not disabled without administrative access")
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll("tr[data-timer] td.pf-v5-c-table__action button")].every(b => b.getAttribute("aria-disabled") === "true")`) {
		t.Error("row actions are not disabled without administrative access")
	}
	// The tooltip says why, to the keyboard as to the mouse.
	do(t, ctx, chromedp.Focus(kebab("create/read-only")))
	waitJS(t, ctx, `document.querySelector(".pf-v5-c-tooltip")?.textContent.includes("Administrative access is needed")`)
	screenshot(t, ctx, "read-only")
	// A click opens nothing and changes nothing.
	do(t, ctx, chromedp.Click(kebab("create/read-only")))
	if eval[bool](t, ctx, `!!document.querySelector(".pf-v5-c-menu")`) {
		t.Error("a disabled row menu opened")
	}
	if got := busStatus(t, conn, path); got != "running" {
		t.Errorf("Status after clicks without access: %s", got)
	}
	// Still live: a change by an administrator shows.
	if err := busCall(conn, path, timerIf+".Stop").Err; err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, "create/read-only", "enabled")
	if !strings.Contains(text(t, ctx, "#read-only"), "Administrative access") {
		t.Error("the page does not say that it is read-only")
	}
}

// Without the service the page says so in one message, not an empty table.
func TestServiceAbsent(t *testing.T) {
	// As if never installed: no activation file (dbus-daemon rereads its
	// service directories on reload), and no daemon running.
	activation := filepath.Join(ns.Dir, "system-services", busName+".service")
	if err := os.Rename(activation, activation+".away"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Rename(activation+".away", activation)
		inNS(t, "systemctl", "reload", "dbus.service")
	})
	inNS(t, "systemctl", "reload", "dbus.service")
	inNS(t, "systemctl", "stop", "snapm-timersd.service")
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `!!document.querySelector("#service-absent")`)
	if got := text(t, ctx, "#service-absent"); !strings.Contains(got, "not installed or could not be started") {
		t.Errorf("the page says %q", got)
	}
	if eval[bool](t, ctx, `!!document.querySelector("#timers, #empty-state")`) {
		t.Error("a table or an empty state is shown beside the message")
	}
	screenshot(t, ctx, "service-absent")
}
