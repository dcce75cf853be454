package cockpit

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
)

// orphan makes TYPE/NAME a timer of no schedule, by hand, as snapm's
// tools once made them: its calendar drop-in, enabled and started with
// systemctl; the daemon takes it up from the disk. It is removed when the
// test ends.
func orphan(t *testing.T, conn *dbus.Conn, typ, name, spec string) dbus.ObjectPath {
	t.Helper()
	unit := "snapm-" + typ + "@" + name + ".timer"
	writeDropIn(t, unit, "10-oncalendar.conf", "[Timer]\nOnCalendar=\nOnCalendar="+spec+"\n")
	inNS(t, "systemctl", "enable", "--now", unit)
	t.Cleanup(func() { inNS(t, "systemctl", "disable", "--now", unit) })
	var path dbus.ObjectPath
	for deadline := time.Now().Add(hang); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if busCall(conn, rootPath, managerIf+".GetTimer", typ, name).Store(&path) == nil {
			return path
		}
	}
	t.Fatalf("the daemon did not take up %s", unit)
	return ""
}

func orphanSel(name string) string { return `tr[data-orphan="` + name + `"]` }

// Timers with no schedule are listed apart, saying that they will fail,
// each with its fixes: Create its schedule opens the schedule dialog with
// the timer's name and calendar, and the schedule made owns the timer;
// Remove timer asks first, says what stays, and removes it. axe-core finds
// nothing serious in the list with them.
func TestOrphanTimersFixed(t *testing.T) {
	conn := bus(t)
	const made, gone = "orphan-made", "orphan-gone"
	path := orphan(t, conn, "create", made, "Mon 04:00")
	orphan(t, conn, "gc", gone, schedule.GCCalendarSpec)
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `!!document.querySelector('`+orphanSel("create/"+made)+`') && !!document.querySelector('`+orphanSel("gc/"+gone)+`')`)
	if got := text(t, ctx, "#orphans"); !strings.Contains(eval[string](t, ctx, `document.body.innerText`), "Not a snapm schedule: it will fail when it fires.") {
		t.Errorf("the timers of no schedule are listed without saying they fail: %q", got)
	}
	wantAccessible(t, ctx, "the list with timers of no schedule")

	do(t, ctx, chromedp.Click(chromedp.CSS(orphanSel("create/"+made)+` .orphan-create`)), chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	if got := eval[string](t, ctx, `document.querySelector("#schedule-name").value`); got != made {
		t.Errorf("the schedule dialog offers the name %q, want the timer's", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#timer-spec").value`); got != "Mon 04:00" {
		t.Errorf("the schedule dialog offers the calendar %q, want the timer's", got)
	}
	setSources(t, ctx, "/")
	waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#schedule-submit").disabled`)
	do(t, ctx, chromedp.Click(chromedp.ID("schedule-submit")), chromedp.WaitNotPresent(chromedp.ID("schedule-dialog")))
	var sched dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".GetSchedule", made).Store(&sched); err != nil {
		t.Fatalf("the schedule made for the timer: %v", err)
	}
	t.Cleanup(func() { busCall(conn, rootPath, managerIf+".DeleteSchedule", sched) })
	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(made)+`') && !document.querySelector('`+orphanSel("create/"+made)+`')`)
	var owned dbus.Variant
	if err := busCall(conn, sched, "org.freedesktop.DBus.Properties.Get", busName+".Schedule", "CreateTimer").Store(&owned); err != nil {
		t.Fatal(err)
	}
	if owned.Value() != path {
		t.Errorf("the new schedule's create timer is %v, not the timer it was made for (%v)", owned.Value(), path)
	}

	do(t, ctx, chromedp.Click(chromedp.CSS(orphanSel("gc/"+gone)+` .orphan-remove`)), chromedp.WaitVisible(chromedp.ID("remove-dialog")))
	if got := text(t, ctx, "#remove-dialog .pf-v5-c-modal-box__body"); !strings.Contains(got, "snapshot sets it made are kept") {
		t.Errorf("the remove dialog says %q, not that snapshot sets stay", got)
	}
	screenshot(t, ctx, "orphan-remove")
	do(t, ctx, chromedp.Click(chromedp.ID("remove-confirm")), chromedp.WaitNotPresent(chromedp.ID("remove-dialog")))
	waitJS(t, ctx, `!document.querySelector('`+orphanSel("gc/"+gone)+`') && !document.querySelector("#orphans")`)
	if err := busCall(conn, rootPath, managerIf+".GetTimer", "gc", gone).Err; err == nil {
		t.Error("the timer is still there after Remove timer")
	}
}
