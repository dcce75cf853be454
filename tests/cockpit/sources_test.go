package cockpit

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// The create dialog offers the system's mount points as sources, as read
// by Cockpit from the system the page runs on: the namespace's root file
// system, not the kernel's file systems nor the directories bound into
// the namespace. A source typed by hand (a path or device not mounted)
// is taken too, each with its own size policy, as snapm takes them; Edit
// shows them back line by line.
func TestSourcesFromMountPoints(t *testing.T) {
	const name = "typed-sources"
	conn := bus(t)
	deleteScheduleAtEnd(t, conn, name)
	ctx := tab(t, rootURL)
	do(t, ctx, chromedp.Click(chromedp.ID("create-schedule")), chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	offered := waitFor[[]string](t, ctx, `(o => o.length > 0 && o)([...document.querySelectorAll("#schedule-mounts option")].map(o => o.value))`)
	t.Logf("offered: %q", offered)
	if !slices.Contains(offered, "/") {
		t.Errorf("the root file system is not offered: %q", offered)
	}
	for _, not := range []string{"/proc", "/sys", "/tmp", "/dev/shm", "/etc/snapm", "/etc/systemd/system"} {
		if slices.Contains(offered, not) {
			t.Errorf("%s is offered as a source: %q", not, offered)
		}
	}
	if got := eval[string](t, ctx, `document.querySelector("#schedule-source-0").getAttribute("list")`); got != "schedule-mounts" {
		t.Errorf("the source field does not offer the mount points (list=%q)", got)
	}

	want := []string{"/:25%FREE", "/dev/vg0/typed:2G", "/srv/no:policy"}
	typeInto(t, ctx, "#schedule-name", name)
	setSources(t, ctx, want...)
	waitJS(t, ctx, `!!document.querySelector("#preview-runs") && !document.querySelector("#schedule-submit").disabled`)
	screenshot(t, ctx, "schedule-sources")
	do(t, ctx, chromedp.Click(chromedp.ID("schedule-submit")), chromedp.WaitNotPresent(chromedp.ID("schedule-dialog")))
	if got := scheduleProps(t, conn, name)["Sources"].Value().([]string); !slices.Equal(got, want) {
		t.Errorf("the schedule's sources are %q, want %q", got, want)
	}

	waitJS(t, ctx, `!!document.querySelector('`+scheduleSel(name)+`')`)
	scheduleAction(t, ctx, name, "Edit schedule")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("schedule-dialog")))
	if got := eval[[]string](t, ctx, sourcesJS); !slices.Equal(got, want) {
		t.Errorf("Edit shows the sources %q, want %q", got, want)
	}
	if got := eval[string](t, ctx, `document.querySelector("#schedule-size-2").value`); got != "" {
		t.Errorf("a ':' that starts no size policy is read as the policy %q", got)
	}
}
