package cockpit

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/godbus/dbus/v5"
)

// analyzeCalendar is systemd's own answer: the normalized form and the
// next elapses of spec, from systemd-analyze calendar in the namespace.
func analyzeCalendar(t *testing.T, spec string, n int) (string, []int64) {
	t.Helper()
	out := inNS(t, "systemd-analyze", "calendar", "--iterations="+strconv.Itoa(n), spec)
	var normalized string
	var elapses []int64
	for _, line := range strings.Split(out, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch {
		case key == "Normalized form":
			normalized = value
		case key == "Next elapse" || strings.HasPrefix(key, "Iter. #"):
			at, err := time.Parse("Mon 2006-01-02 15:04:05 MST", value)
			if err != nil {
				t.Fatalf("systemd-analyze said %q: %v", line, err)
			}
			elapses = append(elapses, at.UnixMicro())
		}
	}
	if normalized == "" || len(elapses) != n {
		t.Fatalf("could not read systemd-analyze calendar:\n%s", out)
	}
	return normalized, elapses
}

// Creating through the dialog: the preview is systemd's own, and the
// schedule that results is on disk and running in systemd.
func TestCreateThroughDialog(t *testing.T) {
	withSchedule(t, "weekday-mornings", "Mon..Fri 08:00")
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-timer")), chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	typeInto(t, ctx, "#timer-name", "weekday-mornings")
	typeInto(t, ctx, "#timer-spec", "Mon..Fri 08:00")
	waitJS(t, ctx, `document.querySelectorAll("#preview-runs li").length === 5`)

	normalized, want := analyzeCalendar(t, "Mon..Fri 08:00", 5)
	if got := text(t, ctx, "#preview-normalized"); got != normalized {
		t.Errorf("the dialog shows the normalized form %q, systemd-analyze %q", got, normalized)
	}
	got := eval[[]int64](t, ctx, `[...document.querySelectorAll("#preview-runs li")].map(li => Number(li.dataset.usec))`)
	if len(got) != len(want) {
		t.Fatalf("the dialog previews %v, systemd-analyze %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("run %d: the dialog previews %v, systemd-analyze %v", i+1, time.UnixMicro(got[i]).UTC(), time.UnixMicro(want[i]).UTC())
		}
	}
	screenshot(t, ctx, "create-dialog")

	do(t, ctx, chromedp.Click(chromedp.ID("dialog-submit")), chromedp.WaitNotPresent(chromedp.ID("timer-dialog")))
	removeLater(t, "create", "weekday-mornings")
	waitStatus(t, ctx, "create/weekday-mornings", "running")

	dropin, err := os.ReadFile(ns.UnitDirPath("snapm-create@weekday-mornings.timer.d", "10-oncalendar.conf"))
	if err != nil || !strings.Contains(string(dropin), "OnCalendar=Mon..Fri 08:00\n") {
		t.Errorf("drop-in after Create: %q, %v", dropin, err)
	}
	if s := inNS(t, "systemctl", "is-active", "snapm-create@weekday-mornings.timer"); s != "active" {
		t.Errorf("systemctl is-active after Create: %s", s)
	}
	if s := inNS(t, "systemctl", "show", "-P", "TimersCalendar", "snapm-create@weekday-mornings.timer"); !strings.Contains(s, normalized) {
		t.Errorf("systemd's own calendar after Create: %s", s)
	}
}

// A schedule systemd will not enable (its unit masked by hand) is not made
// at all: the dialog stays open with the daemon's message, and no row,
// object or unit directory is left. (That no object shows on the way is
// the daemon's to prove: tests/realsystemd TestCreateTimerWithFlags*.)
func TestCreateFailureLeavesNothing(t *testing.T) {
	const unit = "snapm-create@masked-here.timer"
	inNS(t, "systemctl", "mask", unit)
	t.Cleanup(func() { inNS(t, "systemctl", "unmask", unit) })
	withSchedule(t, "masked-here", "daily")
	removeLater(t, "create", "masked-here")
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-timer")), chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	typeInto(t, ctx, "#timer-name", "masked-here")
	typeInto(t, ctx, "#timer-spec", "daily")
	waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#dialog-submit").disabled`)
	if !eval[bool](t, ctx, `document.querySelector("#timer-start").checked`) {
		t.Fatal("Enable and start is not asked for by default")
	}
	do(t, ctx, chromedp.Click(chromedp.ID("dialog-submit")))
	if waitFor[string](t, ctx, `(document.querySelector("#dialog-error") && "error") || (!document.querySelector("#timer-dialog") && "closed")`) != "error" {
		t.Fatal("the dialog closed as if the schedule had been made")
	}
	if got := text(t, ctx, "#dialog-error"); !strings.Contains(got, "masked") || !strings.Contains(got, "systemctl unmask") ||
		strings.Contains(got, "org.freedesktop") {
		t.Errorf("the dialog says %q, want that the unit is masked and what undoes it, without D-Bus names", got)
	}
	// The daemon answers only once the rollback is done: the timer is its
	// schedule file's again, disabled.
	var path dbus.ObjectPath
	if err := busCall(bus(t), rootPath, managerIf+".GetTimer", "create", "masked-here").Store(&path); err != nil || busStatus(t, bus(t), path) != "disabled" {
		t.Errorf("GetTimer after the failed create: %v, want the schedule's timer, disabled", err)
	}
	if got := eval[string](t, ctx, rowStatusJS("create/masked-here")); got != "" && got != "disabled" {
		t.Errorf("the table shows the timer %s, though it was never made", got)
	}
	if _, err := os.Stat(ns.UnitDirPath(unit + ".d")); !os.IsNotExist(err) {
		t.Errorf("the unit directory after the failed create: %v, want none", err)
	}
	screenshot(t, ctx, "create-failed")
}

// An invalid expression shows the daemon's own message and keeps Create
// disabled; so does a name the daemon would refuse, with the reason.
func TestInvalidInputKeepsCreateDisabled(t *testing.T) {
	conn := bus(t)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-timer")), chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	typeInto(t, ctx, "#timer-name", "fine-name")
	typeInto(t, ctx, "#timer-spec", "Mon..Fri 25:00")
	waitJS(t, ctx, `!!document.querySelector("#preview-error")`)

	err := busCall(conn, rootPath, managerIf+".ParseCalendar", "Mon..Fri 25:00", uint32(5)).Err
	if err == nil {
		t.Fatal("the daemon accepts Mon..Fri 25:00")
	}
	if got, want := text(t, ctx, "#preview-error"), err.Error(); !strings.Contains(got, want) {
		t.Errorf("the dialog says %q, the daemon %q", got, want)
	}
	if !eval[bool](t, ctx, `document.querySelector("#dialog-submit").disabled`) {
		t.Error("Create is enabled with an invalid expression")
	}
	screenshot(t, ctx, "create-invalid")

	for name, reason := range map[string]string{
		".":         "cannot be",
		"has space": `" " is not allowed`,
		"":          "Enter a name",
	} {
		typeInto(t, ctx, "#timer-spec", "daily")
		if name == "" {
			eval[chromedp.Void](t, ctx, `document.querySelector('#timer-name').select()`)
			do(t, ctx, chromedp.KeyEvent("\b"))
		} else {
			typeInto(t, ctx, "#timer-name", name)
		}
		waitJS(t, ctx, `!!document.querySelector("#preview-runs")`)
		reason = strings.ReplaceAll(reason, `"`, "“")
		if got := text(t, ctx, "#timer-name-help"); !strings.Contains(strings.ReplaceAll(got, "”", "“"), reason) {
			t.Errorf("name %q: the dialog says %q, want the reason %q", name, got, reason)
		}
		if !eval[bool](t, ctx, `document.querySelector("#dialog-submit").disabled`) {
			t.Errorf("Create is enabled with the name %q", name)
		}
	}
	do(t, ctx, chromedp.KeyEvent("\x1b"), chromedp.WaitNotPresent(chromedp.ID("timer-dialog")))
	if entries, _ := os.ReadDir(ns.UnitDirPath()); containsPrefix(entries, "snapm-create@fine-name") {
		t.Error("a cancelled dialog left a unit directory behind")
	}
}

func containsPrefix(entries []os.DirEntry, prefix string) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}

// A timer for a name with no snapm schedule is refused by the daemon
// (NoSuchSchedule), and the Add timer dialog says so in words, with the
// daemon's detail (what to do) and no D-Bus name.
func TestAddTimerWithoutSchedule(t *testing.T) {
	const name = "no-such-schedule"
	removeLater(t, "create", name)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-timer")), chromedp.WaitVisible(chromedp.ID("timer-dialog")))
	typeInto(t, ctx, "#timer-name", name)
	waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#dialog-submit").disabled`)
	do(t, ctx, chromedp.Click(chromedp.ID("dialog-submit")))
	if waitFor[string](t, ctx, `(document.querySelector("#dialog-error") && "error") || (!document.querySelector("#timer-dialog") && "closed")`) != "error" {
		t.Fatal("the dialog closed as if the timer had been made")
	}
	got := text(t, ctx, "#dialog-error")
	if !strings.Contains(got, "There is no snapm schedule of this name: ") ||
		!strings.Contains(got, name) || strings.Contains(got, busName) || strings.Contains(got, "no such schedule") {
		t.Errorf("the dialog says %q", got)
	}
}
