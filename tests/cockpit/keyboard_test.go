package cockpit

import (
	"context"
	"slices"
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

// press sends keys to whatever has the focus, as a keyboard does.
func press(t *testing.T, ctx context.Context, keys ...string) {
	t.Helper()
	for _, k := range keys {
		do(t, ctx, chromedp.KeyEvent(k))
	}
}

// tabTo moves the focus with Tab (or Shift+Tab, back) until sel has it,
// as a keyboard user looks for a control; it fails when sel is not
// reached within a page's worth of stops.
func tabTo(t *testing.T, ctx context.Context, sel string, back bool) {
	t.Helper()
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	for range 80 {
		if eval[bool](t, ctx, `!!document.activeElement?.matches('`+sel+`')`) {
			return
		}
		do(t, ctx, chromedp.KeyEvent(kb.Tab, opts...))
	}
	t.Fatalf("Tab never reached %s; focus is on %s", sel, eval[string](t, ctx, `document.activeElement?.outerHTML.slice(0, 200)`))
}

// pickItem moves down an open menu until item has the focus, and picks it.
func pickItem(t *testing.T, ctx context.Context, item string) {
	t.Helper()
	waitJS(t, ctx, `!!document.activeElement?.closest(".pf-v5-c-menu")`)
	for range 10 {
		if eval[string](t, ctx, activeJS) == item {
			press(t, ctx, kb.Enter)
			return
		}
		press(t, ctx, kb.ArrowDown)
	}
	t.Fatalf("↓ never reached %q in the menu", item)
}

// A schedule is created, edited and deleted with the keyboard alone:
// Tab, Shift+Tab, Enter, Space, arrows, Escape and typing, no clicks; the
// daemon's view is checked at each step.
func TestScheduleByKeyboardOnly(t *testing.T) {
	const name = "keys-only"
	conn := bus(t)
	deleteScheduleAtEnd(t, conn, name)
	ctx := tab(t, rootURL)
	kebab := scheduleSel(name) + ` td.pf-v5-c-table__action button`

	// Create.
	tabTo(t, ctx, "#create-schedule", false)
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, `!!document.querySelector("#schedule-dialog")`)
	tabTo(t, ctx, "#schedule-name", false)
	press(t, ctx, name)
	tabTo(t, ctx, "#schedule-source-0", false)
	press(t, ctx, "/")
	tabTo(t, ctx, "#schedule-add-source", false)
	press(t, ctx, kb.Enter)
	tabTo(t, ctx, "#schedule-source-1", true)
	press(t, ctx, "/var")
	tabTo(t, ctx, "#schedule-size-1", false)
	press(t, ctx, "25%FREE")
	tabTo(t, ctx, "#schedule-policy", false)
	// COUNT, then ↓ to AGE; ↑ back to COUNT.
	press(t, ctx, kb.ArrowDown)
	waitJS(t, ctx, `document.querySelector("#schedule-policy").value === "AGE"`)
	press(t, ctx, kb.ArrowUp)
	tabTo(t, ctx, "#schedule-keep_count", false)
	press(t, ctx, "5")
	tabTo(t, ctx, "#timer-spec", false)
	press(t, ctx, "Mon..Fri 09:30")
	waitJS(t, ctx, `document.querySelectorAll("#preview-runs li").length === 5`)
	tabTo(t, ctx, "#schedule-boot", true)
	press(t, ctx, " ")
	tabTo(t, ctx, "#schedule-submit", false)
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, `!document.querySelector("#schedule-dialog") && `+scheduleCell(name, "schedule-retention")+` === "keep 5"`)
	props := scheduleProps(t, conn, name)
	if got := props["Sources"].Value(); !slices.Equal(got.([]string), []string{"/", "/var:25%FREE"}) || props["CalendarSpec"].Value() != "Mon..Fri 09:30" ||
		props["Boot"].Value() != true || props["GcPolicyType"].Value() != "COUNT" {
		t.Errorf("the schedule made by keyboard: %v", props)
	}

	// Edit: the row's menu, Escape once on the way.
	tabTo(t, ctx, kebab, false)
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, activeJS+` !== "" && !!document.activeElement.closest(".pf-v5-c-menu")`)
	press(t, ctx, kb.Escape)
	waitJS(t, ctx, `!document.querySelector(".pf-v5-c-menu") && document.activeElement === document.querySelector('`+kebab+`')`)
	press(t, ctx, " ")
	pickItem(t, ctx, "Edit schedule")
	waitJS(t, ctx, `!!document.querySelector("#schedule-dialog")`)
	tabTo(t, ctx, "#schedule-keep_count", false)
	press(t, ctx, "3")
	tabTo(t, ctx, "#schedule-submit", false)
	waitJS(t, ctx, `!document.querySelector("#schedule-submit").disabled`)
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, `!document.querySelector("#schedule-dialog") && `+scheduleCell(name, "schedule-retention")+` === "keep 3"`)

	// Delete, asked first. The closed dialog gives the focus back to the
	// menu's toggle, as PatternFly's modals do.
	waitJS(t, ctx, `document.activeElement === document.querySelector('`+kebab+`')`)
	press(t, ctx, kb.Enter)
	pickItem(t, ctx, "Delete")
	waitJS(t, ctx, `!!document.querySelector("#delete-dialog")`)
	tabTo(t, ctx, "#delete-confirm", false)
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, `!document.querySelector("#delete-dialog") && !document.querySelector('`+scheduleSel(name)+`')`)
	if err := busCall(conn, rootPath, managerIf+".GetSchedule", name).Err; err == nil {
		t.Error("the schedule is still there after Delete by keyboard")
	}
}

// deleteScheduleAtEnd deletes schedule name through the bus when the test
// ends, if the page left it there.
func deleteScheduleAtEnd(t *testing.T, conn *dbus.Conn, name string) {
	t.Cleanup(func() {
		var path dbus.ObjectPath
		if busCall(conn, rootPath, managerIf+".GetSchedule", name).Store(&path) == nil {
			busCall(conn, rootPath, managerIf+".DeleteSchedule", path)
		}
	})
}

// scheduleProps are the Schedule properties the daemon publishes for name.
func scheduleProps(t *testing.T, conn *dbus.Conn, name string) map[string]dbus.Variant {
	t.Helper()
	var path dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".GetSchedule", name).Store(&path); err != nil {
		t.Fatalf("GetSchedule %s: %v", name, err)
	}
	var all map[string]dbus.Variant
	if err := busCall(conn, path, "org.freedesktop.DBus.Properties.GetAll", busName+".Schedule").Store(&all); err != nil {
		t.Fatalf("properties of %s: %v", path, err)
	}
	return all
}
