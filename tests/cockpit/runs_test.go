package cockpit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/godbus/dbus/v5"
)

// writeDropIn writes unit's drop-in file with content and reloads
// systemd; the drop-in directory goes when the test ends.
func writeDropIn(t *testing.T, unit, file, content string) {
	t.Helper()
	dropin := ns.UnitDirPath(unit+".d", file)
	if err := os.MkdirAll(filepath.Dir(dropin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dropin, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(filepath.Dir(dropin))
		inNS(t, "systemctl", "daemon-reload")
	})
	inNS(t, "systemctl", "daemon-reload")
}

// failingService makes service's runs print a line of their own and exit
// 3, until the test ends: a failure the page must not show as success.
// ($$ is systemd's escape of the shell's $.)
func failingService(t *testing.T, service string) {
	t.Helper()
	writeDropIn(t, service, "50-fail.conf",
		"[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo run-marker-$$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 3'\n")
}

// scheduleWithCreate makes schedule name (newSchedule) and returns a bus
// connection and its create timer.
func scheduleWithCreate(t *testing.T, name string) (*dbus.Conn, dbus.ObjectPath) {
	t.Helper()
	newSchedule(t, name)
	conn := bus(t)
	var create dbus.ObjectPath
	if err := busCall(conn, rootPath, managerIf+".GetTimer", "create", name).Store(&create); err != nil {
		t.Fatal(err)
	}
	return conn, create
}

// runOnce runs the timer's service through the daemon and waits until the
// daemon shows the run over; it returns the run's invocation ID.
func runOnce(t *testing.T, conn *dbus.Conn, path dbus.ObjectPath) string {
	t.Helper()
	before, _ := busProps(t, conn, path)["LastRunInvocation"].Value().(string)
	if err := busCall(conn, path, timerIf+".RunNow").Err; err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	for deadline := time.Now().Add(hang); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p := busProps(t, conn, path)
		id, _ := p["LastRunInvocation"].Value().(string)
		if id != "" && id != before && p["Activity"].Value().(string) != "running" && p["LastRunResult"].Value().(string) != "" {
			return id
		}
	}
	t.Fatal("the run did not end")
	return ""
}

// A schedule's row says how its last snapshot run and its last cleanup
// run went, in words with a time; the expanded row's log link of a timer
// that ran opens Cockpit's logs page on that run alone, and the one of a
// timer that never ran on its service's logs.
func TestLastRunsAndTheirLogs(t *testing.T) {
	const name = "runs-logs"
	conn, create := scheduleWithCreate(t, name)
	ctx := tab(t, rootURL)
	waitJS(t, ctx, scheduleCell(name, "schedule-run-create")+` === "Snapshots: Not run since boot"`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-run-gc")); got != "Cleanup: Not run since boot" {
		t.Errorf("the cleanup of a schedule that never ran reads %q", got)
	}

	service := "snapm-create@" + name + ".service"
	failingService(t, service)
	// Two runs, so that the link must tell the last from the one before.
	runOnce(t, conn, create)
	id := runOnce(t, conn, create)
	waitJS(t, ctx, scheduleCell(name, "schedule-run-create")+`.startsWith("Snapshots: Failed (exit 3) ")`)
	if got := eval[string](t, ctx, scheduleCell(name, "schedule-run-create")); !strings.HasSuffix(got, " ago") {
		t.Errorf("the last snapshot run reads %q, without when", got)
	}

	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(name)+` td.pf-v5-c-table__toggle button`)))
	line := func(typ string) string {
		return scheduleSel(name) + ` .schedule-timer[data-unit="snapm-` + typ + `@` + name + `.timer"] .logs-link`
	}
	href := waitFor[string](t, ctx, `(h => h && h.includes("`+id+`") && h)(document.querySelector('`+line("create")+`')?.getAttribute("href"))`)
	gcHref := eval[string](t, ctx, `document.querySelector('`+line("gc")+`').getAttribute("href")`)
	if want := "service=snapm-gc%40" + name + ".service"; !strings.Contains(gcHref, want) {
		t.Errorf("the logs link of a timer that never ran is %q, want its service's (%s)", gcHref, want)
	}
	screenshot(t, ctx, "schedule-last-runs")

	// What Cockpit's own logs page shows at that link: the last run's line
	// and no other.
	var want string
	for deadline := time.Now().Add(hang); want == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		want = inNS(t, "journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_INVOCATION_ID="+id)
	}
	if !strings.HasPrefix(want, "run-marker-") || strings.Contains(want, "\n") {
		t.Fatalf("the journal of the last run holds %q; of the service: %s", want,
			inNS(t, "journalctl", "--no-pager", "-o", "export", "-u", service))
	}
	path, ok := strings.CutPrefix(href, "/system/logs#")
	if !ok {
		t.Fatalf("the logs link %q is not Cockpit's logs page", href)
	}
	// The page itself, outside the shell: "system" is the name the logs
	// page's package (cockpit-system's systemd/) gives itself.
	logs := blankTab(t)
	do(t, logs, chromedp.Navigate(strings.Replace(rootURL, "/snapm-timers/index.html", "/system/logs.html", 1)+"#"+path))
	got := waitFor[[]string](t, logs, `(l => l.length > 0 && l)([...document.querySelectorAll(".cockpit-logline")].map(e => e.innerText).filter(s => s.includes("run-marker-")))`)
	if len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("the logs page at %s shows %q, want the last run's %q alone", href, got, want)
	}
	screenshot(t, logs, "logs-of-last-run")
}

// visibleTipsJS lists the tooltips shown on the page.
const visibleTipsJS = `[...document.querySelectorAll("[role=tooltip]")].filter(e => getComputedStyle(e).opacity !== "0").map(e => e.textContent)`

// A tooltip shows while what it describes has the focus, and goes with
// the focus: it does not stay over the page as the keyboard moves on, a
// menu opens and closes, or the row it belongs to changes.
func TestTooltipsLeaveWithFocus(t *testing.T) {
	const name = "tips"
	conn, create := scheduleWithCreate(t, name)
	failingService(t, "snapm-create@"+name+".service")
	runOnce(t, conn, create)
	ctx := tab(t, rootURL)
	noTips := func(when string) {
		t.Helper()
		// Tooltips fade out over 300 ms after a 300 ms delay.
		time.Sleep(800 * time.Millisecond)
		if got := eval[[]string](t, ctx, visibleTipsJS); len(got) > 0 {
			t.Errorf("%s, tooltips are shown: %q", when, got)
		}
	}
	tabTo(t, ctx, rowSel("create/"+name)+" .last-run", false)
	waitJS(t, ctx, visibleTipsJS+`.length === 1`)
	press(t, ctx, kb.Tab)
	noTips("with the focus moved on")
	press(t, ctx, kb.Enter)
	waitJS(t, ctx, `!!document.activeElement?.closest(".pf-v5-c-menu")`)
	press(t, ctx, kb.Escape)
	noTips("after the row's menu opened and closed")
	runOnce(t, conn, create)
	noTips("after the row changed")
}
