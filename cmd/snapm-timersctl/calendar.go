package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// runCalendar prints what systemd-analyze calendar prints, byte for byte,
// from the service's own calendar engine.
func runCalendar(ctx context.Context, a *app, args []string) error {
	now := a.now()
	base := now
	if a.opts.baseTime != "" {
		var err error
		if base, err = parseTimestamp(a.opts.baseTime, now, a.loc); err != nil {
			return usagef("Failed to parse --base-time= parameter: %s", a.opts.baseTime)
		}
	}
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	var results []calendarResult
	for _, expr := range args {
		normalized, next, err := c.parseCalendar(ctx, expr, uint64(base.UnixMicro()), a.opts.iterations)
		if err != nil && dbusErrorName(err) != "com.redhat.Snapm.Timers.Error.InvalidCalendar" {
			return failed("parse calendar specification", "'"+expr+"'", err)
		}
		results = append(results, calendarResult{expr: expr, normalized: normalized, next: next, err: err})
	}
	return a.renderCalendar(a.stdout, results, uint64(now.UnixMicro()))
}

type calendarResult struct {
	expr, normalized string
	next             []uint64
	err              error
}

// renderCalendar follows systemd-analyze calendar: a blank line before
// every expression but the first (a rejected one included), "Original
// form" only when normalizing changed it, "(in UTC)" only outside UTC.
func (a *app) renderCalendar(w io.Writer, results []calendarResult, now uint64) error {
	st := a.style()
	utc := inUTC(a.loc, now)
	var failure error
	for i, r := range results {
		if i > 0 {
			io.WriteString(w, "\n") //nolint:errcheck // a failed write shows in the next one
		}
		if r.err != nil {
			fmt.Fprintf(a.stderr, "Failed to parse calendar specification '%s': %s\n", r.expr, dbusMessage(r.err))
			if failure == nil {
				failure = cliError{code: exitFailure}
			}
			continue
		}
		var sb strings.Builder
		const width = len("Normalized form:")
		if r.normalized != r.expr {
			labelled(&sb, width, "Original form:", r.expr)
		}
		labelled(&sb, width, "Normalized form:", r.normalized)
		if len(r.next) == 0 {
			labelled(&sb, width, "Next elapse:", st.red("never"))
		}
		for j, n := range r.next {
			label := "Next elapse:"
			if j > 0 {
				label = fmt.Sprintf("Iter. #%d:", j+1)
			}
			labelled(&sb, width, label, st.blue(formatTimestamp(n, a.loc)))
			if !utc {
				labelled(&sb, width, "(in UTC):", formatTimestamp(n, time.UTC))
			}
			labelled(&sb, width, "From now:", formatRelative(n, now))
		}
		if _, err := io.WriteString(w, sb.String()); err != nil {
			return err
		}
	}
	return failure
}

// inUTC is glibc's "timezone == 0 && !daylight": no offset, summer or
// winter, this year.
func inUTC(loc *time.Location, now uint64) bool {
	y := usecTime(now, loc).Year()
	for _, m := range []time.Month{time.January, time.July} {
		if _, off := time.Date(y, m, 1, 0, 0, 0, 0, loc).Zone(); off != 0 {
			return false
		}
	}
	return true
}
