// Package schedule is the model of a Snapshot Manager (snapm) 0.7 schedule:
// the file /etc/snapm/schedule.d/NAME.json (snapm-schedule.d(5)), its
// validation and its atomic write, so that what the daemon accepts and
// writes is what snapm accepts and writes. It knows nothing of D-Bus or
// systemd, and leaves the calendar syntax to its caller.
//
// Where a verdict could be argued, it is snapm's: the comments name the
// snapm 0.7 code it comes from (snapm/manager/_manager.py,
// snapm/manager/_schedule.py, snapm/_snapm.py, snapm/command.py).
package schedule

import (
	"errors"
	"slices"
)

// PolicyType is a garbage collection policy type, spelt as in the file.
type PolicyType string

// The policy types of snapm's GcPolicyType, by their names.
const (
	All      PolicyType = "ALL"
	Count    PolicyType = "COUNT"
	Age      PolicyType = "AGE"
	Timeline PolicyType = "TIMELINE"
)

// GCCalendarSpec is snapm's fixed calendar of every gc timer.
const GCCalendarSpec = "*-*-* *:10:00"

// Dir is snapm's schedule directory.
const Dir = "/etc/snapm/schedule.d"

// ErrInvalid is wrapped by every validation error (the message says what, in
// snapm's words where snapm has words for it).
var ErrInvalid = errors.New("invalid schedule")

// Param is a gc_policy keep_* key and its value.
type Param struct {
	Key   string
	Value int64
}

// Schedule is one schedule file's content.
type Schedule struct {
	Name              string
	Sources           []string // as in the file: each may carry a ":SIZE_POLICY" suffix
	DefaultSizePolicy string   // "" is JSON null
	Autoindex         bool
	CalendarSpec      string
	Boot, Revert      bool
	PolicyName        string // gc_policy.policy_name (snapm: the schedule's name)
	PolicyType        PolicyType
	Params            []Param // exactly the type's keys, in snapm's order
}

// paramKeys are the keep_* keys of each policy type in the field order of
// snapm's GcPolicyParams dataclasses, which is the order of the file.
var paramKeys = map[PolicyType][]string{
	All:      nil,
	Count:    {"keep_count"},
	Age:      {"keep_years", "keep_months", "keep_weeks", "keep_days"},
	Timeline: {"keep_yearly", "keep_quarterly", "keep_monthly", "keep_weekly", "keep_daily", "keep_hourly"},
}

// ParamKeys returns the keep_* keys of policy type t in file order, nil for
// ALL or an unknown type.
func ParamKeys(t PolicyType) []string {
	return slices.Clone(paramKeys[t])
}

// Param returns the value of the keep_* key, and whether the policy has it.
func (s Schedule) Param(key string) (int64, bool) {
	for _, p := range s.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return 0, false
}

// WithCalendarSpec returns s with the create timer's calendar spec.
func (s Schedule) WithCalendarSpec(spec string) Schedule {
	s = s.clone()
	s.CalendarSpec = spec
	return s
}

// Equal reports whether s and t hold the same file content.
func (s Schedule) Equal(t Schedule) bool {
	return s.Name == t.Name && slices.Equal(s.Sources, t.Sources) &&
		s.DefaultSizePolicy == t.DefaultSizePolicy && s.Autoindex == t.Autoindex &&
		s.CalendarSpec == t.CalendarSpec && s.Boot == t.Boot && s.Revert == t.Revert &&
		s.PolicyName == t.PolicyName && s.PolicyType == t.PolicyType &&
		slices.Equal(s.Params, t.Params)
}

// clone returns s with slices of its own, so that changing them never
// changes a schedule someone else holds.
func (s Schedule) clone() Schedule {
	s.Sources = slices.Clone(s.Sources)
	s.Params = slices.Clone(s.Params)
	return s
}

// zeroParams returns the params of type t, each 0: snapm's dataclass
// defaults.
func zeroParams(t PolicyType) []Param {
	keys := paramKeys[t]
	if len(keys) == 0 {
		return nil
	}
	ps := make([]Param, len(keys))
	for i, k := range keys {
		ps[i] = Param{Key: k}
	}
	return ps
}
