package cockpit

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// Existing timers, made through the bus and by systemd, are listed with
// the status the daemon derives from systemd and the disk.
func TestListsExistingTimers(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "list-disabled", "daily")
	newTimer(t, conn, "gc", "list-enabled", schedule.GCCalendarSpec, "Enable")
	newTimer(t, conn, "create", "list-running", "Mon..Fri 08:00", "Enable", "Start")
	newTimer(t, conn, "gc", "list-invalid", schedule.GCCalendarSpec, "Enable")
	// A drop-in without enablement: made by someone else, shown as invalid.
	inNS(t, "systemctl", "disable", "snapm-gc@list-invalid.timer")

	ctx := tab(t, rootURL)
	for name, want := range map[string]string{
		"create/list-disabled": "disabled",
		"gc/list-enabled":      "enabled",
		"create/list-running":  "running",
		"gc/list-invalid":      "invalid",
	} {
		waitStatus(t, ctx, name, want)
	}
	screenshot(t, ctx, "table")
}

// The page follows Cockpit's theme: the shell's "cockpit-style" event (and
// localStorage shell:style) switch PatternFly's dark theme on and off.
func TestFollowsDarkTheme(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "theme-running", "Mon..Fri 08:00", "Enable", "Start")
	newTimer(t, conn, "gc", "theme-disabled", schedule.GCCalendarSpec)
	ctx := tab(t, rootURL)
	waitStatus(t, ctx, "create/theme-running", "running")
	background := `getComputedStyle(document.querySelector(".pf-v5-c-card")).backgroundColor`
	light := eval[string](t, ctx, background)
	setStyle := func(style string) {
		eval[chromedp.Void](t, ctx, `localStorage.setItem("shell:style", "`+style+`"); window.dispatchEvent(new CustomEvent("cockpit-style", { detail: { style: "`+style+`" } }))`)
	}
	setStyle("dark")
	t.Cleanup(func() { setStyle("auto") })
	waitJS(t, ctx, `document.documentElement.classList.contains("pf-v5-theme-dark")`)
	if dark := eval[string](t, ctx, background); dark == light {
		t.Errorf("the card's background is %s in both themes", dark)
	}
	screenshot(t, ctx, "table-dark")
	setStyle("light")
	waitJS(t, ctx, `!document.documentElement.classList.contains("pf-v5-theme-dark")`)
}

// filterTextClearJS says, for each option of the status filter chosen in
// turn, how far its text runs under the filter's arrow: the text's width
// in the select's font (a select's own text has no box of its own) against
// the box of the arrow's glyph. "" when no option does.
const filterTextClearJS = `(() => {
	const s = document.querySelector("#filter-status");
	const arrow = s.parentElement.querySelector(".pf-v5-c-form-control__toggle-icon svg").getBoundingClientRect();
	const style = getComputedStyle(s);
	const ctx = document.createElement("canvas").getContext("2d");
	ctx.font = style.font;
	const box = s.getBoundingClientRect();
	return [...s.options].map(o => {
		const end = box.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft) + ctx.measureText(o.text).width;
		return end > arrow.left ? o.text + " ends at " + Math.round(end) + ", the arrow starts at " + Math.round(arrow.left) : "";
	}).filter(Boolean).join("; ");
})()`

// The status filter's arrow does not cover its text, whichever status is
// chosen; and the toolbar's Add timer dialog says it adds a timer, not a
// schedule (the schedules have their own dialog).
func TestTimerToolbar(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "toolbar", "daily")
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `!!document.querySelector("#filter-status")`)
	if got := eval[string](t, ctx, filterTextClearJS); got != "" {
		t.Errorf("the status filter's text runs under its arrow: %s", got)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("create-timer")), chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	if got := text(t, ctx, "#timer-dialog .pf-v5-c-modal-box__title"); got != "Add timer" {
		t.Errorf("the Add timer dialog's title is %q", got)
	}
	if got := text(t, ctx, "#dialog-submit"); got != "Add" {
		t.Errorf("the Add timer dialog's button reads %q", got)
	}
}
