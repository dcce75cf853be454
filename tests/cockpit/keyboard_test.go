package cockpit

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/godbus/dbus/v5"
)

// newSchedule creates schedule name through the bus, enabled and
// running, and deletes it when the test ends.
func newSchedule(t *testing.T, name string) {
	t.Helper()
	conn := bus(t)
	var path dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".CreateSchedule", name, []string{"/"}, "daily",
		map[string]dbus.Variant{"policy_type": dbus.MakeVariant("ALL")}).Store(&path); err != nil {
		t.Fatalf("CreateSchedule %s: %v", name, err)
	}
	t.Cleanup(func() { busCall(conn, rootPath, managerIf+".DeleteSchedule", path) })
}

// activeJS is the text of the focused element.
const activeJS = `(document.activeElement?.textContent ?? "").trim()`

// A schedule's menu works from the keyboard as PatternFly's own menus do:
// Enter opens it with focus on its first item, ↓ moves on, Enter picks.
func TestScheduleMenuByKeyboard(t *testing.T) {
	const name = "kbd-menu"
	newSchedule(t, name)
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "running"`)
	eval[chromedp.Void](t, ctx, `document.querySelector('`+scheduleSel(name)+` td.pf-v5-c-table__action button').focus()`)
	do(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
	if got := waitFor[string](t, ctx, activeJS+` === "Stop" && "Stop"`); got != "Stop" {
		t.Fatalf("focus after Enter is on %q, want the first item", got)
	}
	screenshot(t, ctx, "schedule-menu")
	do(t, ctx, chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](t, ctx, activeJS); got != "Disable" {
		t.Fatalf("focus after ↓ is on %q, want Disable", got)
	}
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "disabled"`)
}

// At a phone's 390 px the page fits its frame: no sideways scrolling.
func TestNarrowFrame(t *testing.T) {
	const name = "narrow"
	newSchedule(t, name)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.EmulateViewport(390, 844))
	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(name)+`')`)
	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(name)+` td.pf-v5-c-table__toggle button`)))
	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(name)+` .schedule-timer')`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %d px wide in a 390 px frame", w)
	}
	screenshot(t, ctx, "narrow-390")
}
