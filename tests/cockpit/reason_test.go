package cockpit

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// A timer's status carries its reason in words: a masked timer reads
// "Masked", as Cockpit's own Services page says it, and its menu offers
// neither Enable nor Start, which systemd refuses; a calendar drop-in
// without enablement reads as such beside "Invalid". The schedule's row
// reads "Masked" too, and its menu leaves out Enable.
func TestStatusReasonsShown(t *testing.T) {
	conn := bus(t)
	const masked, unit = "reason-masked", "snapm-create@reason-masked.timer"
	newSchedule(t, masked)
	inNS(t, "systemctl", "disable", "--now", unit)
	inNS(t, "systemctl", "mask", unit)
	t.Cleanup(func() { inNS(t, "systemctl", "unmask", unit) })
	newTimer(t, conn, "gc", "reason-dropin", schedule.GCCalendarSpec, "Enable")
	inNS(t, "systemctl", "disable", "snapm-gc@reason-dropin.timer")

	ctx := tab(t, rootURL)
	label := rowSel("create/"+masked) + ` .status-label`
	waitJS(t, ctx, `document.querySelector('`+label+`')?.dataset.reason === "masked"`)
	if got := text(t, ctx, label); got != "Masked" {
		t.Errorf("a masked timer's status reads %q", got)
	}
	if got := text(t, ctx, rowSel("create/"+masked)+" .timer-next"); got != "Never" {
		t.Errorf("a masked timer's next run reads %q", got)
	}
	if got := menuItems(t, ctx, "create/"+masked); slices.Contains(got, "Enable") || slices.Contains(got, "Start") {
		t.Errorf("the menu of a masked timer offers %q", got)
	}
	if got := text(t, ctx, scheduleSel(masked)+" .schedule-status"); got != "Masked" {
		t.Errorf("the status of a schedule with a masked timer reads %q", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(masked)+` td.pf-v5-c-table__action button`)),
		chromedp.WaitVisible(chromedp.CSS(`.pf-v5-c-menu`)))
	items := eval[[]string](t, ctx, `[...document.querySelectorAll(".pf-v5-c-menu__item")].map(b => b.textContent.trim())`)
	do(t, ctx, chromedp.KeyEvent("\x1b"), chromedp.WaitNotPresent(chromedp.CSS(`.pf-v5-c-menu`)))
	if slices.Contains(items, "Enable") || slices.Contains(items, "Start") {
		t.Errorf("the menu of a schedule with a masked timer offers %q", items)
	}

	waitStatus(t, ctx, "gc/reason-dropin", "invalid")
	if got := text(t, ctx, rowSel("gc/reason-dropin")+" .status-reason"); got != "a calendar drop-in without enablement" {
		t.Errorf("an invalid timer's reason reads %q", got)
	}
	eval[chromedp.Void](t, ctx, `document.querySelector('`+rowSel("create/"+masked)+`').scrollIntoView({ block: "center" })`)
	screenshot(t, ctx, "masked-timer")
}
