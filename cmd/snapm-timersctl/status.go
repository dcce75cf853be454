package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

func runStatus(ctx context.Context, a *app, args []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	ts, lookupErr := a.selectTimers(ctx, c, args)
	if lookupErr != nil && exitCode(lookupErr) == exitNoService {
		return lookupErr
	}
	warnReload(a.stderr, a.style(), ts)
	err = a.page(func(w io.Writer) error {
		if a.jsonOn() {
			return a.writeJSON(w, timersJSON(ts, nil))
		}
		return a.renderStatus(w, ts)
	})
	if lookupErr != nil {
		return lookupErr
	}
	return err
}

// selectTimers reads the timers that the arguments name, TIMER or a
// pattern, or all of them; see pick.
func (a *app) selectTimers(ctx context.Context, c *client, args []string) ([]Timer, error) {
	list := func() ([]Timer, error) {
		all, err := c.timers(ctx)
		if err != nil {
			return nil, failed("list timers", "", err)
		}
		return all, nil
	}
	return pick(a, args, list, Timer.names, func(id string) (Timer, error) { return c.readTimer(ctx, id) })
}

// readTimer finds and reads one timer named TIMER.
func (c *client) readTimer(ctx context.Context, id string) (Timer, error) {
	path, full, err := c.resolve(ctx, id)
	if err != nil {
		return Timer{}, failed("look up", full, err)
	}
	t, err := c.timer(ctx, path)
	if err != nil {
		return Timer{}, failed("read", full, err)
	}
	return t, nil
}

func timersJSON(ts []Timer, only []string) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		names := only
		if len(names) == 0 {
			names = t.propNames()
		}
		out = append(out, jsonProps(t.shownProps(), names))
	}
	return out
}

func (a *app) renderStatus(w io.Writer, ts []Timer) error {
	var sb strings.Builder
	for i, t := range ts {
		if i > 0 {
			sb.WriteByte('\n')
		}
		a.statusBlock(&sb, t)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// statusBlock is one timer as systemctl status shows a unit: a headline
// with a coloured dot, then right-aligned labels.
func (a *app) statusBlock(sb *strings.Builder, t Timer) {
	st := a.style()
	now := uint64(a.now().UnixMicro())
	status := t.str("Status")
	fmt.Fprintf(sb, "%s %s - %s\n", st.statusDot(status), st.bold(t.ID()), t.str("Unit"))
	type line struct{ label, value string }
	enabled, active := "disabled", "inactive"
	if t.flag("Enabled") {
		enabled = "enabled"
	}
	if t.flag("Running") {
		active = "active"
	}
	lines := []line{
		{"Status:", fmt.Sprintf("%s (%s, %s)", st.wrap(statusColor(status), status), enabled, active)},
	}
	if r := t.reason(); r != "" {
		lines = append(lines, line{"Reason:", r})
	}
	lines = append(lines, []line{
		{"Calendar:", t.str("CalendarSpec")},
		{"Normalized:", t.str("Normalized")},
	}...)
	next := "never"
	switch u := t.nextElapse(); {
	case u != 0:
		next = formatTimestamp(u, a.loc) + "; " + formatRelative(u, now)
	case !t.flag("Running"):
		// Not running: nothing will come, whatever the calendar says.
		next = "-"
	case t.flag("Occurs"):
		next = "n/a"
	}
	lines = append(lines, line{"Next elapse:", next})
	last := "n/a"
	if u := t.usec("LastTrigger"); u != 0 {
		last = formatTimestamp(u, a.loc) + "; " + formatRelative(u, now)
	}
	lines = append(lines, line{"Last trigger:", last})
	// The service's outcome, when the daemon publishes it.
	if t.has("LastRunResult") {
		lines = append(lines, line{"Last run:", a.lastRun(t, now)})
	}
	if inv := t.str("LastRunInvocation"); inv != "" {
		lines = append(lines, line{"Invocation:", inv})
	}
	if t.has("Activity") {
		lines = append(lines, line{"Activity:", t.str("Activity")})
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l.label))
	}
	for _, l := range lines {
		labelled(sb, width+2, l.label, l.value)
	}
}

func (a *app) lastRun(t Timer, now uint64) string {
	st := a.style()
	result := t.str("LastRunResult")
	if result == "" {
		return "none since boot"
	}
	colored := st.green(result)
	if result != "success" {
		colored = st.red(result)
	}
	s := fmt.Sprintf("%s (status %d)", colored, t.Props["LastRunExitStatus"].Value())
	if start := t.usec("LastRunStart"); start != 0 {
		s += "; " + formatTimestamp(start, a.loc) + "; " + formatRelative(start, now)
		if end := t.usec("LastRunEnd"); end > start {
			s += "; took " + formatTimespan(end-start, usecPerMsec)
		}
	}
	return s
}
