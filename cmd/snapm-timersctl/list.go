package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

func runList(ctx context.Context, a *app, patterns []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	all, err := c.timers(ctx)
	if err != nil {
		return failed("list timers", "", err)
	}
	return a.page(func(w io.Writer) error { return a.renderList(w, matching(all, patterns)) })
}

// listRow is a row of `list --json`, named like systemctl list-timers'
// columns; times are CLOCK_REALTIME microseconds, null for none.
type listRow struct {
	Next     *uint64 `json:"next"`
	Left     *uint64 `json:"left"`
	Last     *uint64 `json:"last"`
	Passed   *uint64 `json:"passed"`
	Timer    string  `json:"timer"`
	Unit     string  `json:"unit"`
	Status   string  `json:"status"`
	Reason   string  `json:"reason,omitempty"`
	Calendar string  `json:"calendar"`
}

// sortForList orders timers as the list shows them: by next elapse,
// timers that never elapse after those that do, disabled ones last.
func sortForList(ts []Timer) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		ka := [2]bool{a.str("Status") == "disabled", a.nextElapse() == 0}
		kb := [2]bool{b.str("Status") == "disabled", b.nextElapse() == 0}
		if ka != kb {
			return !ka[0] && kb[0] || ka[0] == kb[0] && !ka[1]
		}
		if a.nextElapse() != b.nextElapse() {
			return a.nextElapse() < b.nextElapse()
		}
		return a.ID() < b.ID()
	})
}

func (a *app) renderList(w io.Writer, all []Timer) error {
	var shown []Timer
	for _, t := range all {
		if len(a.opts.states) == 0 || slices.Contains(a.opts.states, t.str("Status")) {
			shown = append(shown, t)
		}
	}
	sortForList(shown)
	now := uint64(a.now().UnixMicro())
	if a.jsonOn() {
		rows := make([]listRow, 0, len(shown))
		for _, t := range shown {
			r := listRow{Timer: t.ID(), Unit: t.str("Unit"), Status: t.str("Status"), Reason: t.str("StatusReason"), Calendar: t.str("CalendarSpec")}
			r.Next, r.Left = since(t.nextElapse(), now, true)
			r.Last, r.Passed = since(t.usec("LastTrigger"), now, false)
			rows = append(rows, r)
		}
		return a.writeJSON(w, rows)
	}
	st := a.style()
	tab := table{header: []string{"NEXT", "LEFT", "LAST", "PASSED", "TIMER", "STATUS", "CALENDAR"}}
	for _, t := range shown {
		next, left := a.when(t.nextElapse(), now)
		last, passed := a.when(t.usec("LastTrigger"), now)
		tab.add(plain(next), plain(left), plain(last), plain(passed), plain(t.ID()),
			cell{text: t.statusText(), color: statusColor(t.str("Status"))}, plain(t.str("CalendarSpec")))
	}
	var sb strings.Builder
	tab.render(&sb, st, !a.opts.noLegend)
	if !a.opts.noLegend {
		legend := st.bold(fmt.Sprintf("%d timers listed.", len(shown)))
		if len(shown) == 0 {
			legend = st.red(fmt.Sprintf("%d timers listed.", len(shown)))
		}
		sb.WriteString("\n" + legend + "\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// when is a time and how far it is from now, or dashes for none.
func (a *app) when(u, now uint64) (string, string) {
	if u == 0 {
		return "-", "-"
	}
	return formatTimestamp(u, a.loc), formatRelative(u, now)
}

// since is a time and its distance from now for JSON, null for none.
func since(u, now uint64, future bool) (*uint64, *uint64) {
	if u == 0 {
		return nil, nil
	}
	var d uint64
	switch {
	case future && u > now:
		d = u - now
	case !future && now > u:
		d = now - u
	}
	return &u, &d
}

func statusColor(status string) string {
	switch status {
	case "running":
		return "1;32"
	case "invalid":
		return "1;31"
	}
	return ""
}
