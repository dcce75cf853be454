package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// nextElapse is the next run that will come: none unless systemd runs the
// timer, whatever the daemon computed for a disabled, stopped or masked
// one (systemctl list-timers shows only active timers, "-" for none).
func (t Timer) nextElapse() uint64 {
	if !t.flag("Running") {
		return 0
	}
	return t.usec("NextElapse")
}

// shownProps are the properties as show and --json print them: NextElapse
// 0 where no run will come, as systemd's own NextElapseUSecRealtime of a
// stopped timer.
func (t Timer) shownProps() map[string]dbus.Variant {
	if !t.has("NextElapse") || !t.has("Running") || t.nextElapse() != 0 {
		return t.Props
	}
	props := maps.Clone(t.Props)
	props["NextElapse"] = dbus.MakeVariant(uint64(0))
	return props
}

// reasonText puts the daemon's StatusReason in words, as systemctl
// would say them.
var reasonText = map[string]string{
	"masked":      "masked",
	"need-reload": "changed on disk, not reloaded",
	"bad-drop-in": "calendar drop-in unreadable",
	"not-enabled": "drop-in without enablement",
	"no-drop-in":  "enabled or active without its calendar drop-in",
	"load-error":  "load error",
	"failed":      "failed",
	"transition":  "activating or deactivating",
}

// reason says why a timer is invalid, or that it is masked; a word the
// daemon adds later than this CLI is shown as it is.
func (t Timer) reason() string {
	r := t.str("StatusReason")
	if text, ok := reasonText[r]; ok {
		return text
	}
	return r
}

// statusText is the status with its reason beside an invalid one.
func (t Timer) statusText() string {
	if r := t.reason(); r != "" {
		return t.str("Status") + " (" + r + ")"
	}
	return t.str("Status")
}

// warnReload prints systemctl's warning for every timer systemd has not
// reloaded since its files changed.
func warnReload(w io.Writer, st style, ts []Timer) {
	for _, t := range ts {
		if t.flag("NeedDaemonReload") {
			fmt.Fprintf(w, "%s The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl daemon-reload' to reload units.\n",
				st.warning(), t.str("Unit"))
		}
	}
}

// warnIfChanged gives systemctl's daemon-reload warning after an
// operation on a timer whose files systemd has not reloaded, as systemctl
// start, stop, enable and disable do. A timer gone (removed) has nothing
// to warn of, so a failure to read it is no failure of the verb.
func (a *app) warnIfChanged(ctx context.Context, c *client, path dbus.ObjectPath) {
	if t, err := c.timer(ctx, path); err == nil {
		warnReload(a.stderr, a.style(), []Timer{t})
	}
}

// isPattern tells a shell glob, as systemctl takes for unit names, from
// a TIMER.
func isPattern(arg string) bool { return strings.ContainsAny(arg, "*?[") }

// names are what a pattern may match of a timer: its unit, as `systemctl
// list-timers 'snapm-*'` matches, its TYPE/NAME and its NAME.
func (t Timer) names() []string { return []string{t.str("Unit"), t.ID(), t.str("Name")} }

// matching keeps the timers a pattern of patterns matches.
func matching(ts []Timer, patterns []string) []Timer {
	if len(patterns) == 0 {
		return ts
	}
	var out []Timer
	for _, t := range ts {
		if slices.ContainsFunc(patterns, func(p string) bool {
			return slices.ContainsFunc(t.names(), func(n string) bool { return globMatch(p, n) })
		}) {
			out = append(out, t)
		}
	}
	return out
}

// globMatch is fnmatch(3) without flags: '*' crosses '/', as in TYPE/NAME.
func globMatch(pattern, s string) bool {
	ok, err := filepath.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// warnNever warns, after the service took it, of a calendar that has no
// elapse left (systemd-analyze calendar says "Next elapse: never"): the
// timer is valid yet will never fire. Asking is best effort: the change
// is made already, so a failure to ask is no failure of the verb.
func (a *app) warnNever(ctx context.Context, c *client, spec string) {
	_, next, err := c.parseCalendar(ctx, spec, uint64(a.now().UnixMicro()), 1)
	if err == nil && len(next) == 0 {
		fmt.Fprintf(a.stderr, "%s calendar '%s' is entirely in the past: the timer will never elapse (systemd-analyze calendar: \"Next elapse: never\").\n",
			a.style().warning(), spec)
	}
}
