package cockpit

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"
)

// Enable, Start, Stop, Disable, Edit and Remove through the row's menu:
// each offered only where it makes sense, each checked against the disk
// and systemd's own view.
func TestRowActions(t *testing.T) {
	conn := bus(t)
	// A create timer: a gc timer's calendar is snapm's, not to edit.
	path := newTimer(t, conn, "create", "row-actions", "daily")
	const name, unit = "create/row-actions", "snapm-create@row-actions.timer"
	dropin := ns.UnitDirPath(unit+".d", "10-oncalendar.conf")
	ctx := tab(t, rootURL)

	steps := []struct {
		offered        []string
		do, status     string
		active, enable string
		dropin         bool
	}{
		{[]string{"Enable", "Edit schedule", "Run now", "Remove"}, "Enable", "enabled", "inactive", "enabled", true},
		{[]string{"Start", "Disable", "Edit schedule", "Run now", "Remove"}, "Start", "running", "active", "enabled", true},
		{[]string{"Stop", "Disable", "Edit schedule", "Run now", "Remove"}, "Stop", "enabled", "inactive", "enabled", true},
		{[]string{"Start", "Disable", "Edit schedule", "Run now", "Remove"}, "Disable", "disabled", "inactive", "disabled", false},
	}
	for _, s := range steps {
		waitJS(t, ctx, `!!document.querySelector('`+rowSel(name)+`')`)
		if got := menuItems(t, ctx, name); !slices.Equal(got, s.offered) {
			t.Errorf("before %s the menu offers %q, want %q", s.do, got, s.offered)
		}
		action(t, ctx, name, s.do)
		waitStatus(t, ctx, name, s.status)
		if got := busStatus(t, conn, path); got != s.status {
			t.Errorf("after %s the daemon says %s, the page %s", s.do, got, s.status)
		}
		if got := inNS(t, "systemctl", "is-active", unit); got != s.active {
			t.Errorf("after %s systemctl is-active says %s, want %s", s.do, got, s.active)
		}
		if got := inNS(t, "systemctl", "is-enabled", unit); got != s.enable {
			t.Errorf("after %s systemctl is-enabled says %s, want %s", s.do, got, s.enable)
		}
		if _, err := os.Stat(dropin); (err == nil) != s.dropin {
			t.Errorf("after %s the drop-in exists: %v, want %v", s.do, err == nil, s.dropin)
		}
	}

	// Edit the schedule of a running timer: systemd takes the new one.
	busCall(conn, path, timerIf+".Enable")
	busCall(conn, path, timerIf+".Start")
	waitStatus(t, ctx, name, "running")
	action(t, ctx, name, "Edit schedule")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	do(t, ctx, chromedp.Click(chromedp.ID("preset-weekly")))
	waitJS(t, ctx, `document.querySelector("#preview-normalized")?.textContent === "Mon *-*-* 00:00:00"`)
	do(t, ctx, chromedp.Click(chromedp.ID("dialog-submit")), chromedp.WaitNotPresent(chromedp.ID("timer-dialog")))
	waitJS(t, ctx, `document.querySelector('`+rowSel(name)+` .timer-spec')?.textContent === "weekly"`)
	if data, err := os.ReadFile(dropin); err != nil || !strings.Contains(string(data), "OnCalendar=weekly\n") {
		t.Errorf("drop-in after Edit: %q, %v", data, err)
	}
	if got := inNS(t, "systemctl", "show", "-P", "TimersCalendar", unit); !strings.Contains(got, "Mon *-*-* 00:00:00") {
		t.Errorf("systemd's calendar after Edit: %s", got)
	}

	// Remove asks first; Cancel keeps the timer.
	action(t, ctx, name, "Remove")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("remove-dialog")))
	screenshot(t, ctx, "remove-confirmation")
	do(t, ctx, chromedp.Click(chromedp.Search(`//div[@id="remove-dialog"]//button[normalize-space(.)="Cancel"]`)),
		chromedp.WaitNotPresent(chromedp.ID("remove-dialog")))
	if busStatus(t, conn, path) != "running" {
		t.Fatal("Cancel in the confirmation changed the timer")
	}
	// Its schedule file stays, and brings the timer back disabled.
	action(t, ctx, name, "Remove")
	do(t, ctx, chromedp.Click(chromedp.ID("remove-confirm")))
	waitStatus(t, ctx, name, "disabled")
	var back dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".GetTimer", "create", "row-actions").Store(&back); err != nil || busStatus(t, conn, back) != "disabled" {
		t.Errorf("after Remove, the schedule's timer: %v, want it back disabled", err)
	}
	if _, err := os.Stat(dropin); err == nil {
		t.Error("the drop-in is still there after Remove")
	}
	if got := inNS(t, "systemctl", "is-enabled", unit); got != "disabled" {
		t.Errorf("systemctl is-enabled after Remove: %s", got)
	}
}

// A change made outside the page shows in the row, with no reload.
func TestOutsideChangeShowsLive(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "outside", "hourly", "Enable", "Start")
	ctx := tab(t, rootURL)
	waitStatus(t, ctx, "create/outside", "running")
	eval[chromedp.Void](t, ctx, `window.notReloaded = true`)

	start := time.Now()
	inNS(t, "systemctl", "stop", "snapm-create@outside.timer")
	waitStatus(t, ctx, "create/outside", "enabled")
	t.Logf("systemctl stop from outside shown in the row after %v", time.Since(start).Round(time.Millisecond))
	if !eval[bool](t, ctx, `window.notReloaded === true`) {
		t.Error("the page reloaded to show the change")
	}
}

// busProps are the Timer properties the daemon publishes for path.
func busProps(t *testing.T, conn *dbus.Conn, path dbus.ObjectPath) map[string]dbus.Variant {
	t.Helper()
	var all map[string]dbus.Variant
	if err := busCall(conn, path, "org.freedesktop.DBus.Properties.GetAll", timerIf).Store(&all); err != nil {
		t.Fatalf("properties of %s: %v", path, err)
	}
	return all
}

func busStatus(t *testing.T, conn *dbus.Conn, path dbus.ObjectPath) string {
	t.Helper()
	return busProps(t, conn, path)["Status"].Value().(string)
}
