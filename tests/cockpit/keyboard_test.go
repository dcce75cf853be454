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

// menuOutsideJS says how the open menu runs past the frame, "" when it
// fits. The page is its own frame here (the tests load it outside
// Cockpit's shell), so the frame is the viewport.
const menuOutsideJS = `(() => {
	const r = document.querySelector(".pf-v5-c-menu").getBoundingClientRect();
	const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
	return r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h ? "" :
		"menu at " + [r.left, r.top, r.right, r.bottom].map(Math.round).join(",") + " in a frame of " + w + "x" + h;
})()`

// A schedule's menu fits the frame and works from the keyboard as
// PatternFly's own menus do: Enter or Space opens it with focus on its
// first item, ↓ and ↑ move, Escape closes it and gives focus back to its
// toggle, Enter picks. Each width is a fresh tab, so that the menu's first
// opening is the one measured.
func TestScheduleMenuByKeyboard(t *testing.T) {
	const name = "kbd-menu"
	newSchedule(t, name)
	toggle := `document.querySelector('` + scheduleSel(name) + ` td.pf-v5-c-table__action button')`
	for _, width := range []int64{1280, 390} {
		ctx := tab(t, rootURL)
		do(t, ctx, chromedp.EmulateViewport(width, 800))
		waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "running"`)
		eval[chromedp.Void](t, ctx, toggle+`.focus()`)
		do(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
		if got := waitFor[string](t, ctx, activeJS+` === "Stop" && "Stop"`); got != "Stop" {
			t.Fatalf("%d px: focus after Enter is on %q, want the first item", width, got)
		}
		if out := eval[string](t, ctx, menuOutsideJS); out != "" {
			t.Errorf("%d px wide: the %s", width, out)
		}
		if width == 1280 {
			screenshot(t, ctx, "schedule-menu")
		}
		do(t, ctx, chromedp.KeyEvent(kb.ArrowDown))
		if got := eval[string](t, ctx, activeJS); got != "Disable" {
			t.Fatalf("%d px: focus after ↓ is on %q, want Disable", width, got)
		}
		do(t, ctx, chromedp.KeyEvent(kb.ArrowUp))
		if got := eval[string](t, ctx, activeJS); got != "Stop" {
			t.Fatalf("%d px: focus after ↓ ↑ is on %q, want Stop", width, got)
		}
		do(t, ctx, chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS(`.pf-v5-c-menu`)))
		if !eval[bool](t, ctx, `document.activeElement === `+toggle) {
			t.Fatalf("%d px: Escape left focus on %q, not on the menu's toggle", width, eval[string](t, ctx, `document.activeElement.outerHTML`))
		}
		do(t, ctx, chromedp.KeyEvent(" "), chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
		if got := waitFor[string](t, ctx, activeJS+` === "Stop" && "Stop"`); got != "Stop" {
			t.Fatalf("%d px: focus after Space is on %q, want the first item", width, got)
		}
		if out := eval[string](t, ctx, menuOutsideJS); out != "" {
			t.Errorf("%d px wide, opened again: the %s", width, out)
		}
		do(t, ctx, chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS(`.pf-v5-c-menu`)))
	}
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "running"`)
	eval[chromedp.Void](t, ctx, toggle+`.focus()`)
	do(t, ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
	waitJS(t, ctx, activeJS+` === "Stop"`)
	do(t, ctx, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
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
