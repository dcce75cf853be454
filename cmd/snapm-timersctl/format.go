package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Times are CLOCK_REALTIME microseconds, as the service publishes them.
const (
	usecPerMsec   = 1000
	usecPerSec    = 1000 * usecPerMsec
	usecPerMinute = 60 * usecPerSec
	usecPerHour   = 60 * usecPerMinute
	usecPerDay    = 24 * usecPerHour
	usecPerWeek   = 7 * usecPerDay
	usecPerMonth  = 2629800 * usecPerSec
	usecPerYear   = 31557600 * usecPerSec
)

func usecTime(u uint64, loc *time.Location) time.Time {
	return time.UnixMicro(int64(u)).In(loc)
}

// formatTimestamp prints a time as systemd does: "Tue 2026-12-01 00:00:00 CET".
func formatTimestamp(u uint64, loc *time.Location) string {
	return usecTime(u, loc).Format("Mon 2006-01-02 15:04:05 MST")
}

// formatRelative is systemd's format_timestamp_relative(): "2h 14min left",
// "3 years 0 months ago".
func formatRelative(u, now uint64) string {
	var d uint64
	suffix := "left"
	if u > now {
		d = u - now
	} else {
		d, suffix = now-u, "ago"
	}
	plural := func(n uint64, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	switch {
	case d >= usecPerYear:
		y, m := d/usecPerYear, (d%usecPerYear)/usecPerMonth
		return fmt.Sprintf("%d %s %d %s %s", y, plural(y, "year", "years"), m, plural(m, "month", "months"), suffix)
	case d >= usecPerMonth:
		m, dd := d/usecPerMonth, (d%usecPerMonth)/usecPerDay
		return fmt.Sprintf("%d %s %d %s %s", m, plural(m, "month", "months"), dd, plural(dd, "day", "days"), suffix)
	case d >= usecPerWeek:
		w, dd := d/usecPerWeek, (d%usecPerWeek)/usecPerDay
		return fmt.Sprintf("%d %s %d %s %s", w, plural(w, "week", "weeks"), dd, plural(dd, "day", "days"), suffix)
	case d >= 2*usecPerDay:
		return fmt.Sprintf("%d days %s", d/usecPerDay, suffix)
	case d >= 25*usecPerHour:
		return fmt.Sprintf("1 day %dh %s", (d-usecPerDay)/usecPerHour, suffix)
	case d >= 6*usecPerHour:
		return fmt.Sprintf("%dh %s", d/usecPerHour, suffix)
	case d >= usecPerHour:
		return fmt.Sprintf("%dh %dmin %s", d/usecPerHour, (d%usecPerHour)/usecPerMinute, suffix)
	case d >= 5*usecPerMinute:
		return fmt.Sprintf("%dmin %s", d/usecPerMinute, suffix)
	case d >= usecPerMinute:
		return fmt.Sprintf("%dmin %ds %s", d/usecPerMinute, (d%usecPerMinute)/usecPerSec, suffix)
	case d >= usecPerSec:
		return fmt.Sprintf("%ds %s", d/usecPerSec, suffix)
	case d >= usecPerMsec:
		return fmt.Sprintf("%dms %s", d/usecPerMsec, suffix)
	case d > 0:
		return fmt.Sprintf("%dus %s", d, suffix)
	}
	return "now"
}

// formatTimespan is systemd's format_timespan() at an accuracy: "1min 30s".
func formatTimespan(d, accuracy uint64) string {
	if d == 0 {
		return "0"
	}
	units := []struct {
		name string
		usec uint64
	}{
		{"y", usecPerYear}, {"month", usecPerMonth}, {"w", usecPerWeek}, {"d", usecPerDay},
		{"h", usecPerHour}, {"min", usecPerMinute}, {"s", usecPerSec}, {"ms", usecPerMsec}, {"us", 1},
	}
	var parts []string
	for _, u := range units {
		// As systemd: at least one unit, however far below accuracy.
		if d < accuracy && len(parts) > 0 {
			break
		}
		if d < u.usec {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d%s", d/u.usec, u.name))
		d %= u.usec
	}
	return strings.Join(parts, " ")
}

// style holds the terminal's escape sequences, empty when colours are off.
type style struct{ on bool }

func (s style) wrap(code, text string) string {
	if !s.on || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(t string) string  { return s.wrap("1", t) }
func (s style) red(t string) string   { return s.wrap("1;31", t) }
func (s style) green(t string) string { return s.wrap("1;32", t) }
func (s style) blue(t string) string  { return s.wrap("1;34", t) }

// warning is systemd's highlighted "Warning:" prefix.
func (s style) warning() string { return s.wrap("1;38;5;185", "Warning:") }

// statusDot is systemctl status's mark: a coloured bullet per status.
func (s style) statusDot(status string) string {
	switch status {
	case "running":
		return s.green("●")
	case "invalid":
		return s.red("×")
	case "enabled":
		return "●"
	}
	return "○"
}

// table lays out columns as systemd's format-table does: left-aligned,
// separated by one space, the header in bold on a terminal.
type table struct {
	header []string
	rows   [][]cell
}

// cell is a table value and its colour code, if any.
type cell struct {
	text  string
	color string
}

func (t *table) add(cells ...cell) { t.rows = append(t.rows, cells) }

func (t *table) render(sb *strings.Builder, st style, withHeader bool) {
	widths := make([]int, len(t.header))
	measure := func(i int, s string) {
		if n := utf8.RuneCountInString(s); n > widths[i] {
			widths[i] = n
		}
	}
	if withHeader {
		for i, h := range t.header {
			measure(i, h)
		}
	}
	for _, r := range t.rows {
		for i, c := range r {
			measure(i, c.text)
		}
	}
	line := func(cells []cell, header bool) {
		var b strings.Builder
		for i, c := range cells {
			text := c.text
			pad := widths[i] - utf8.RuneCountInString(text)
			switch {
			case header:
				text = st.wrap("1", text)
			case c.color != "":
				text = st.wrap(c.color, text)
			}
			b.WriteString(text)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", pad+1))
			}
		}
		sb.WriteString(strings.TrimRight(b.String(), " "))
		sb.WriteByte('\n')
	}
	if withHeader {
		h := make([]cell, len(t.header))
		for i, name := range t.header {
			h[i] = cell{text: name}
		}
		line(h, true)
	}
	for _, r := range t.rows {
		line(r, false)
	}
}

// plain is a cell without colour.
func plain(s string) cell { return cell{text: s} }

// labelled writes "label: value" lines with the labels right-aligned to
// the widest, as timedatectl and systemd-analyze calendar do; like
// systemd's tables, without trailing blanks.
func labelled(sb *strings.Builder, width int, label, value string) {
	sb.WriteString(strings.TrimRight(fmt.Sprintf("%*s %s", width, label, value), " "))
	sb.WriteByte('\n')
}
