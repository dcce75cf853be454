package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// runCalendar prints what systemd-analyze calendar prints, byte for byte:
// like it, it evaluates in the caller's zone ($TZ, else /etc/localtime),
// with the service's calendar engine run here. The service is asked too,
// because its timers elapse in its own zone: where that gives other
// times, they follow as extra lines.
func runCalendar(ctx context.Context, a *app, args []string) error {
	zone, err := a.zone()
	if err != nil {
		return cliError{fmt.Sprintf("Failed to load the time zone: %v", err), exitFailure}
	}
	loc := zone.Location()
	now := a.now()
	base := now
	if a.opts.baseTime != "" {
		if base, err = parseTimestamp(a.opts.baseTime, now, loc); err != nil {
			return usagef("Failed to parse --base-time= parameter: %s", a.opts.baseTime)
		}
	}
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	engine := calendar.Engine{Host: zone}
	var results []calendarResult
	for _, expr := range args {
		r := calendarResult{expr: expr}
		if r.err = calendar.CheckText(expr); r.err == nil {
			r.normalized, r.next, r.err = engine.Elapses(expr, base, int(a.opts.iterations))
		}
		if r.err == nil {
			_, fired, err := c.parseCalendar(ctx, expr, uint64(base.UnixMicro()), a.opts.iterations)
			switch {
			case dbusErrorName(err) == "com.redhat.Snapm.Timers.Error.InvalidCalendar":
				r.serviceErr = err
			case err != nil:
				return failed("parse calendar specification", "'"+expr+"'", err)
			case !slices.Equal(fired, r.next):
				r.fired, r.firedDiffers = fired, true
			}
		}
		results = append(results, r)
	}
	return a.renderCalendar(a.stdout, results, uint64(now.UnixMicro()), loc)
}

type calendarResult struct {
	expr, normalized string
	next             []uint64
	err              error
	// fired is the service's elapses, where they differ from next
	// (firedDiffers): a timer elapses in the zone of the service's machine.
	fired        []uint64
	firedDiffers bool
	// serviceErr is the service rejecting what the caller's zone accepts
	// (a zone abbreviation of the caller's only).
	serviceErr error
}

// timerLabel marks the lines that systemd-analyze does not print: when a
// timer with the expression elapses, in the caller's zone.
const timerLabel = "Timer elapses:"

// renderCalendar follows systemd-analyze calendar: a blank line before
// every expression but the first (a rejected one included), "Original
// form" only when normalizing changed it, "(in UTC)" only outside UTC.
// Then, only where the service's zone gives other times, timerLabel lines.
func (a *app) renderCalendar(w io.Writer, results []calendarResult, now uint64, loc *time.Location) error {
	st := a.style()
	utc := inUTC(loc, now)
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
			labelled(&sb, width, label, st.blue(formatTimestamp(n, loc)))
			if !utc {
				labelled(&sb, width, "(in UTC):", formatTimestamp(n, time.UTC))
			}
			labelled(&sb, width, "From now:", formatRelative(n, now))
		}
		switch {
		case r.serviceErr != nil:
			labelled(&sb, width, timerLabel, "never: the service rejects it: "+dbusMessage(r.serviceErr))
		case r.firedDiffers && len(r.fired) == 0:
			labelled(&sb, width, timerLabel, "never")
		}
		for _, n := range r.fired {
			labelled(&sb, width, timerLabel, formatTimestamp(n, loc))
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
