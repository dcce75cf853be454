package main

import (
	"fmt"
	"io"
	"strings"
)

func (s Schedule) sources() []string {
	v, _ := s.Props["Sources"].Value().([]string)
	return v
}

// params are the retention parameters, in snapm's order, zeros left out
// as snapm leaves them out of its text.
func (s Schedule) params() [][2]any {
	m, _ := s.Props["GcPolicyParams"].Value().(map[string]uint32)
	var out [][2]any
	for _, k := range keepKeys {
		if v, ok := m[k]; ok && v != 0 {
			out = append(out, [2]any{k, v})
		}
	}
	return out
}

// retention says in words what a policy keeps: "keep 7", "keep 30 days",
// "keep 24 hourly, 7 daily".
func (s Schedule) retention() string {
	typ := s.str("GcPolicyType")
	if typ == "ALL" {
		return "keep all"
	}
	var parts []string
	for _, p := range s.params() {
		if key := p[0].(string); key == "keep_count" {
			parts = append(parts, fmt.Sprint(p[1]))
		} else {
			parts = append(parts, fmt.Sprintf("%v %s", p[1], strings.TrimPrefix(key, "keep_")))
		}
	}
	if len(parts) == 0 {
		return "keep none set"
	}
	return "keep " + strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// scheduleJSON is `snapm schedule show --json`'s object, with the state
// snapm prints beside it; times are CLOCK_REALTIME microseconds.
type scheduleJSON struct {
	Name              string         `json:"name"`
	Sources           []string       `json:"sources"`
	DefaultSizePolicy *string        `json:"default_size_policy"`
	Autoindex         bool           `json:"autoindex"`
	Calendarspec      string         `json:"calendarspec"`
	Boot              bool           `json:"boot"`
	Revert            bool           `json:"revert"`
	GcPolicy          map[string]any `json:"gc_policy"`
	Enabled           bool           `json:"enabled"`
	Running           bool           `json:"running"`
	NextElapse        *uint64        `json:"next_elapse"`
}

func (s Schedule) json() scheduleJSON {
	j := scheduleJSON{Name: s.str("Name"), Sources: s.sources(), Autoindex: s.flag("Autoindex"),
		Calendarspec: s.str("CalendarSpec"), Boot: s.flag("Boot"), Revert: s.flag("Revert"),
		GcPolicy: map[string]any{"policy_name": s.str("Name"), "policy_type": s.str("GcPolicyType")},
		Enabled:  s.flag("Enabled"), Running: s.flag("Running")}
	if j.Sources == nil {
		j.Sources = []string{}
	}
	if p := s.str("DefaultSizePolicy"); p != "" {
		j.DefaultSizePolicy = &p
	}
	m, _ := s.Props["GcPolicyParams"].Value().(map[string]uint32)
	for k, v := range m {
		j.GcPolicy[k] = v
	}
	if n := s.nextElapse(); n != 0 {
		j.NextElapse = &n
	}
	return j
}

func (a *app) writeSchedulesJSON(w io.Writer, ss []Schedule) error {
	out := make([]scheduleJSON, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.json())
	}
	return a.writeJSON(w, out)
}

// renderScheduleList is `snapm schedule list`'s table (its default
// fields) in the CLI's systemd style, with the retention in words.
func (a *app) renderScheduleList(w io.Writer, ss []Schedule) error {
	if a.jsonOn() {
		return a.writeSchedulesJSON(w, ss)
	}
	st := a.style()
	now := uint64(a.now().UnixMicro())
	tab := table{header: []string{"NAME", "SOURCES", "SIZEPOLICY", "CALENDAR", "RETENTION", "ENABLED", "RUNNING", "NEXT", "LEFT"}}
	for _, s := range ss {
		next, left := a.when(s.nextElapse(), now)
		policy := s.str("DefaultSizePolicy")
		if policy == "" {
			policy = "-"
		}
		tab.add(plain(s.str("Name")), plain(strings.Join(s.sources(), ",")), plain(policy), plain(s.str("CalendarSpec")),
			plain(s.retention()), plain(yesNo(s.flag("Enabled"))), plain(yesNo(s.flag("Running"))), plain(next), plain(left))
	}
	var sb strings.Builder
	tab.render(&sb, st, !a.opts.noLegend)
	if !a.opts.noLegend {
		sb.WriteString("\n" + st.bold(fmt.Sprintf("%d schedules listed.", len(ss))) + "\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// renderSchedules is `snapm schedule show`'s text: its keys and order, a
// blank line between schedules, the next elapse as systemd prints it.
func (a *app) renderSchedules(w io.Writer, ss []Schedule) error {
	if a.jsonOn() {
		return a.writeSchedulesJSON(w, ss)
	}
	now := uint64(a.now().UnixMicro())
	var sb strings.Builder
	for i, s := range ss {
		if i > 0 {
			sb.WriteByte('\n')
		}
		policy := s.str("DefaultSizePolicy")
		if policy == "" {
			policy = "None" // snapm prints Python's None
		}
		var params []string
		for _, p := range s.params() {
			params = append(params, fmt.Sprintf("%s=%v", p[0], p[1]))
		}
		typ := s.str("GcPolicyType")
		if typ != "" {
			typ = typ[:1] + strings.ToLower(typ[1:])
		}
		next := "-"
		if n := s.nextElapse(); n != 0 {
			next = formatTimestamp(n, a.loc) + "; " + formatRelative(n, now)
		}
		fmt.Fprintf(&sb, "Name: %s\nSources: %s\nDefaultSizePolicy: %s\nCalendarspec: %s\nBoot: %s\nRevert: %s\n",
			s.str("Name"), strings.Join(s.sources(), ", "), policy, s.str("CalendarSpec"), yesNo(s.flag("Boot")), yesNo(s.flag("Revert")))
		fmt.Fprintf(&sb, "GcPolicy:\n    Name: %s\n    Type: %s\n    Params: %s\n", s.str("Name"), typ, strings.Join(params, ", "))
		fmt.Fprintf(&sb, "Enabled: %s\nRunning: %s\nNextElapse: %s\n", yesNo(s.flag("Enabled")), yesNo(s.flag("Running")), next)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
