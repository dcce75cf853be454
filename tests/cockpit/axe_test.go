package cockpit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// axeViolations runs axe-core (the page's dev dependency, from npm) on
// the page as it is and returns its serious and critical violations, one
// line each.
func axeViolations(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(sysns.RepoRoot(), "cockpit", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core (make cockpit/node_modules/.package-lock.json installs it): %v", err)
	}
	eval[chromedp.Void](t, ctx, string(src)+`;
		window.axeFound = null;
		axe.run(document, { resultTypes: ["violations"] }).then(r => {
			window.axeFound = JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
				.map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")));
		})`)
	var found []string
	if err := json.Unmarshal([]byte(waitFor[string](t, ctx, `window.axeFound`)), &found); err != nil {
		t.Fatal(err)
	}
	return found
}

func wantAccessible(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("%s: %s", what, v)
	}
}

// axe-core finds no serious or critical violation on the list with a
// schedule expanded, in the create dialog, or in the delete dialog.
func TestAccessible(t *testing.T) {
	const name = "axe"
	newSchedule(t, name)
	ctx := tab(t, rootURL)
	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(name)+`')`)
	do(t, ctx, chromedp.Click(chromedp.CSS(scheduleSel(name)+` td.pf-v5-c-table__toggle button`)))
	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(name)+` .schedule-timer')`)
	wantAccessible(t, ctx, "the list")

	do(t, ctx, chromedp.Click(chromedp.ID("create-schedule")), chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	setSelect(t, ctx, "#schedule-policy", "TIMELINE")
	waitJS(t, ctx, `!!document.querySelector("#preview-runs")`)
	wantAccessible(t, ctx, "the create dialog")
	do(t, ctx, chromedp.KeyEvent("\x1b"), chromedp.WaitNotPresent(chromedp.ID("schedule-dialog")))

	scheduleAction(t, ctx, name, "Delete")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("delete-dialog")))
	wantAccessible(t, ctx, "the delete dialog")
}
