package cockpit

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"
)

// follow is how soon the page must show a schedule snapm wrote.
const follow = time.Second

// needSnapm skips a test that needs the real snapm 0.7 when it is not
// in the namespace, saying why.
func needSnapm(t *testing.T) {
	t.Helper()
	if noSnapm != "" {
		t.Skip(noSnapm)
	}
}

// snapm runs the real snapm in the namespace and fails t unless it exits 0.
func snapm(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	res, err := ns.Snapm(ctx, args...)
	if err != nil || res.Status != 0 {
		t.Fatalf("snapm %s: %v, exit status %d:\n%s%s", strings.Join(args, " "), err, res.Status, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// deleteAtEnd deletes schedule name with snapm when t ends, if it is
// still there.
func deleteAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		if _, err := os.Stat(ns.SnapmDirPath("schedule.d", name+".json")); err == nil {
			snapm(t, "schedule", "delete", name)
		}
	})
}

func scheduleSel(name string) string { return `tbody[data-schedule="` + name + `"]` }

// scheduleCell is the text of a cell of schedule name's row, "" without
// the row.
func scheduleCell(name, class string) string {
	return `(document.querySelector('` + scheduleSel(name) + ` .` + class + `')?.innerText ?? "").trim()`
}

// fields is what `snapm schedule show` says, field by field (the
// schedule's Name, not its policy's).
func fields(show string) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(show, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			if _, dup := f[k]; !dup {
				f[k] = strings.TrimSpace(v)
			}
		}
	}
	return f
}

// scheduleAction opens a schedule row's menu and picks an item.
func scheduleAction(t *testing.T, ctx context.Context, name, item string) {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(name)+` td.pf-v5-c-table__action button`)), chromedp.Click(menuItem(item)))
}

// setSelect picks an option of a <select> and tells React, as a choice
// from the list does.
func setSelect(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	eval[chromedp.Void](t, ctx, `(() => { const s = document.querySelector('`+sel+`'); s.value = "`+value+`";
		s.dispatchEvent(new Event("change", { bubbles: true })); })()`)
}

// A schedule made through the page, with two sources, a timeline policy
// and a weekday calendar, is snapm's own: `snapm schedule show` shows it
// as made; the row expands to its two timers; Delete asks first, says
// that snapshot sets stay, and removes the schedule.
func TestCreateScheduleThroughPage(t *testing.T) {
	needSnapm(t)
	const name = "page-timeline"
	deleteAtEnd(t, name)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-schedule")), chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	typeInto(t, ctx, "#schedule-name", name)
	setSources(t, ctx, "/", "/var:10%SIZE")
	setSelect(t, ctx, "#schedule-policy", "TIMELINE")
	typeInto(t, ctx, "#schedule-keep_monthly", "6")
	do(t, ctx, chromedp.Click(chromedp.ID("schedule-boot")))
	typeInto(t, ctx, "#timer-spec", "Mon..Fri 09:30")
	waitJS(t, ctx, `document.querySelectorAll("#preview-runs li").length === 5 && !document.querySelector("#schedule-submit").disabled`)
	// The picture shows the sources and the retention, above the calendar.
	eval[chromedp.Void](t, ctx, `document.activeElement.blur(); document.querySelector("#schedule-source-0").scrollIntoView({ block: "start" })`)
	screenshot(t, ctx, "create-schedule-dialog")
	do(t, ctx, chromedp.Click(chromedp.ID("schedule-submit")), chromedp.WaitNotPresent(chromedp.ID("schedule-dialog")))

	const retention = "keep 24 hourly, 7 daily, 4 weekly, 6 monthly"
	waitJS(t, ctx, scheduleCell(name, "schedule-retention")+` === "`+retention+`"`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-sources")); got != "/\n/var:10%SIZE" {
		t.Errorf("the row's sources read %q", got)
	}
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-spec")); got != "Mon..Fri 09:30" {
		t.Errorf("the row's calendar reads %q", got)
	}
	waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "running"`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-next")); got == "" {
		t.Error("a running schedule shows no next run")
	}

	show := snapm(t, "schedule", "show", name)
	t.Logf("snapm schedule show %s:\n%s", name, show)
	shown := fields(show)
	for k, want := range map[string]string{
		"Name": name, "Sources": "/, /var:10%SIZE", "Calendarspec": "Mon..Fri 09:30", "Boot": "yes", "Revert": "no",
		"Type": "Timeline", "Enabled": "yes", "Running": "yes",
	} {
		if got := shown[k]; !strings.EqualFold(got, want) {
			t.Errorf("snapm schedule show: %s is %q, want %q", k, got, want)
		}
	}
	for _, kept := range []string{"keep_hourly=24", "keep_daily=7", "keep_weekly=4", "keep_monthly=6"} {
		if !strings.Contains(shown["Params"], kept) {
			t.Errorf("snapm schedule show: Params is %q, want %s in it", shown["Params"], kept)
		}
	}

	// Expanded: the schedule's two timers, each linked to Cockpit's unit
	// page and its logs.
	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(name)+` td.pf-v5-c-table__toggle button`)))
	for _, typ := range []string{"create", "gc"} {
		unit := "snapm-" + typ + "@" + name + ".timer"
		line := scheduleSel(name) + ` .schedule-timer[data-unit="` + unit + `"]`
		waitJS(t, ctx, `!!document.querySelector('`+line+`')`)
		if got := eval[string](t, ctx, `document.querySelector('`+line+` .unit-link').getAttribute("href")`); got != "/system/services#/"+strings.ReplaceAll(unit, "@", "%40") {
			t.Errorf("%s: the unit link is %q", unit, got)
		}
		wantLogs := "service=" + strings.ReplaceAll(strings.TrimSuffix(unit, ".timer")+".service", "@", "%40")
		if got := eval[string](t, ctx, `document.querySelector('`+line+` .logs-link').getAttribute("href")`); !strings.HasPrefix(got, "/system/logs#/?") || !strings.Contains(got, wantLogs) {
			t.Errorf("%s: the logs link is %q, want one with %s", unit, got, wantLogs)
		}
	}
	screenshot(t, ctx, "schedules-expanded")

	// Disabled, it will not run: no next run is shown.
	scheduleAction(t, ctx, name, "Disable")
	waitJS(t, ctx, `document.querySelector('`+scheduleSel(name)+` .status-label')?.dataset.status === "disabled"`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-next")); got != "" {
		t.Errorf("a disabled schedule shows the next run %q", got)
	}
	if got := fields(snapm(t, "schedule", "show", name))["Enabled"]; got != "no" {
		t.Errorf("snapm schedule show: Enabled is %q after Disable on the page", got)
	}

	scheduleAction(t, ctx, name, "Delete")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("delete-dialog")))
	if got := text(t, ctx, "#delete-dialog .pf-v5-c-modal-box__body"); !strings.Contains(got, "snapshot sets it made are not deleted") {
		t.Errorf("the delete dialog says %q, not that snapshot sets stay", got)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("delete-confirm")), chromedp.WaitNotPresent(chromedp.ID("delete-dialog")))
	waitJS(t, ctx, `!document.querySelector('`+scheduleSel(name)+`')`)
	if _, err := os.Stat(ns.SnapmDirPath("schedule.d", name+".json")); !os.IsNotExist(err) {
		t.Errorf("the schedule file after Delete: %v, want none", err)
	}
	if list := snapm(t, "schedule", "list", "-o", "name", "--noheadings"); strings.Contains(list, name) {
		t.Errorf("snapm still lists %s after Delete:\n%s", name, list)
	}
}

// A schedule snapm creates shows on the open page within a second, with
// its sources and its retention in words.
func TestScheduleFromSnapmShows(t *testing.T) {
	needSnapm(t)
	const name = "from-snapm-page"
	deleteAtEnd(t, name)
	ctx := tab(t, rootURL)
	// The page notes when the row first reads right, on the browser's
	// clock, which is this machine's.
	eval[chromedp.Void](t, ctx, `(() => {
		const ready = () => `+scheduleCell(name, "schedule-retention")+` === "keep 30 days" &&
			`+scheduleCell(name, "schedule-sources")+` === "/var\n/";
		new MutationObserver((_m, o) => { if (ready()) { window.shownAt = Date.now(); o.disconnect(); } })
			.observe(document.body, { subtree: true, childList: true, characterData: true });
	})()`)
	snapm(t, "schedule", "create", "--policy-type", "age", "--keep-days", "30", "--calendarspec", "Sat 03:00", name, "/var", "/")
	done := time.Now()
	shown := waitFor[float64](t, ctx, `window.shownAt`)
	late := time.UnixMilli(int64(shown)).Sub(done)
	t.Logf("the schedule snapm created showed on the page %v after snapm returned", late.Round(time.Millisecond))
	if late > follow {
		t.Errorf("the schedule showed %v after snapm returned, want within %v", late.Round(time.Millisecond), follow)
	}
}

// A schedule the daemon refuses leaves the dialog open with the daemon's
// reason in an admin's words: what kind of refusal, then the daemon's
// detail, without the D-Bus error's name or the words that restate it;
// and makes nothing. Two of snapm's refusals that only the daemon knows:
// the same source twice, and a name snapm takes for no snapshot set.
func TestCreateScheduleRefusedSaysWhy(t *testing.T) {
	const name = "page-refused"
	conn := bus(t)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-schedule")), chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	for _, c := range []struct {
		name    string
		sources []string
	}{
		{name, []string{"/var", "/var/"}},
		{"page_refused", []string{"/"}},
	} {
		typeInto(t, ctx, "#schedule-name", c.name)
		setSources(t, ctx, c.sources...)
		waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#schedule-submit").disabled`)
		do(t, ctx, chromedp.Click(chromedp.ID("schedule-submit")))
		if waitFor[string](t, ctx, `(!document.querySelector("#schedule-submit").disabled && document.querySelector("#schedule-error") && "error") || (!document.querySelector("#schedule-dialog") && "closed")`) != "error" {
			t.Fatalf("%s: the dialog closed as if the schedule had been made", c.name)
		}
		got := text(t, ctx, "#schedule-error")

		var derr dbus.Error
		err := busCall(conn, rootPath, managerIf+".CreateSchedule", c.name, c.sources, "daily", map[string]dbus.Variant{
			"policy_type": dbus.MakeVariant("COUNT"), "keep_count": dbus.MakeVariant(uint32(7)),
		}).Err
		if !errors.As(err, &derr) || derr.Name != busName+".Error.InvalidArgument" || len(derr.Body) == 0 {
			t.Fatalf("%s: the daemon answers the same schedule with %v, want InvalidArgument", c.name, err)
		}
		// The daemon's message ends with snapm's reason.
		msg := derr.Body[0].(string)
		reason := msg[strings.LastIndex(msg, ": ")+2:]
		if !strings.Contains(got, "Not accepted: "+reason) ||
			strings.Contains(got, busName) || strings.Contains(strings.ToLower(got), "invalid argument") {
			t.Errorf("%s: the dialog says %q; the daemon's message is %q", c.name, got, msg)
		}
		if _, err := os.Stat(ns.SnapmDirPath("schedule.d", c.name+".json")); !os.IsNotExist(err) {
			t.Errorf("%s: a refused schedule left its file: %v", c.name, err)
		}
	}
	screenshot(t, ctx, "create-schedule-refused")
}

// Edit through the page changes the schedule as `snapm schedule edit`
// would: snapm shows the new sources, calendar and retention.
func TestEditScheduleThroughPage(t *testing.T) {
	needSnapm(t)
	const name = "page-edit"
	newSchedule(t, name)
	ctx := tab(t, rootURL)
	waitJS(t, ctx, scheduleCell(name, "schedule-retention")+` === "keep all"`)
	scheduleAction(t, ctx, name, "Edit schedule")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	if got := eval[[]string](t, ctx, sourcesJS); !slices.Equal(got, []string{"/"}) {
		t.Errorf("the dialog offers the sources %q, want the schedule's", got)
	}
	if !eval[bool](t, ctx, `document.querySelector("#schedule-name").disabled`) {
		t.Error("the name can be changed while editing")
	}
	setSources(t, ctx, "/", "/var")
	setSelect(t, ctx, "#schedule-policy", "COUNT")
	typeInto(t, ctx, "#schedule-keep_count", "3")
	typeInto(t, ctx, "#timer-spec", "weekly")
	waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#schedule-submit").disabled`)
	do(t, ctx, chromedp.Click(chromedp.ID("schedule-submit")), chromedp.WaitNotPresent(chromedp.ID("schedule-dialog")))
	waitJS(t, ctx, scheduleCell(name, "schedule-retention")+` === "keep 3"`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-spec")); got != "weekly" {
		t.Errorf("the row's calendar reads %q after Edit", got)
	}
	shown := fields(snapm(t, "schedule", "show", name))
	for k, want := range map[string]string{"Sources": "/, /var", "Calendarspec": "weekly", "Type": "Count", "Params": "keep_count=3"} {
		if got := shown[k]; !strings.EqualFold(got, want) {
			t.Errorf("snapm schedule show after Edit: %s is %q, want %q", k, got, want)
		}
	}
}

// sizePolicy is enough of snapm's size policies for the tests' specs.
var sizePolicy = regexp.MustCompile(`^[0-9.]+(%[A-Z]+|[KMGTPEZ]?i?B?)$`)

// setSources fills the schedule dialog's source lines with specs, each a
// source with an optional ":SIZE_POLICY" (typed in the line's size policy
// field; any other ':' stays in the source), adding and removing lines as
// the user would.
func setSources(t *testing.T, ctx context.Context, specs ...string) {
	t.Helper()
	lines := `document.querySelectorAll("#schedule-dialog .schedule-source").length`
	for eval[int](t, ctx, lines) > len(specs) {
		do(t, ctx, chromedp.Click(chromedp.Search(`(//div[@id="schedule-dialog"]//*[contains(@class,"schedule-source-remove")])[last()]`)))
	}
	for i, spec := range specs {
		n := strconv.Itoa(i)
		if eval[int](t, ctx, lines) <= i {
			do(t, ctx, chromedp.Click(chromedp.ID("schedule-add-source")), chromedp.WaitVisible(chromedp.ID("schedule-source-"+n)))
		}
		source, policy := spec, ""
		if j := strings.LastIndexByte(spec, ':'); j >= 0 && sizePolicy.MatchString(spec[j+1:]) {
			source, policy = spec[:j], spec[j+1:]
		}
		typeInto(t, ctx, "#schedule-source-"+n, source)
		if policy != "" {
			typeInto(t, ctx, "#schedule-size-"+n, policy)
		} else if eval[string](t, ctx, `document.querySelector("#schedule-size-`+n+`").value`) != "" {
			eval[chromedp.Void](t, ctx, `document.querySelector("#schedule-size-`+n+`").select()`)
			do(t, ctx, chromedp.KeyEvent("\b"))
		}
	}
}

// sourcesJS are the specs the schedule dialog's lines make.
const sourcesJS = `[...document.querySelectorAll("#schedule-dialog .schedule-source")].map(l => {
	const [s, p] = [...l.querySelectorAll("input")].map(i => i.value.trim());
	return p ? s + ":" + p : s;
})`
