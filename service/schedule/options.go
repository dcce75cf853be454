package schedule

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
)

// Options are the a{sv} keys of CreateSchedule and Edit, decoded to Go values by
// the D-Bus adapter: string, bool, []string, or any Go integer type.
// Keys: default_size_policy, autoindex, boot, revert, policy_type (case-insensitive),
// keep_count, keep_years, keep_months, keep_weeks, keep_days, keep_yearly,
// keep_quarterly, keep_monthly, keep_weekly, keep_daily, keep_hourly;
// Edit also takes sources (as) and calendarspec (s). Unknown key or wrong type: ErrInvalid.
type Options map[string]any

// Keys of Options besides the keep_* keys.
const (
	keyDefaultSizePolicy = "default_size_policy"
	keyAutoindex         = "autoindex"
	keyBoot              = "boot"
	keyRevert            = "revert"
	keyPolicyType        = "policy_type"
	keySources           = "sources"
	keyCalendarSpec      = "calendarspec"
)

// options is Options decoded and checked for its keys and types.
type options struct {
	defaultSizePolicy *string
	autoindex         *bool
	boot, revert      *bool
	policyType        *PolicyType
	keep              map[string]int64
	sources           []string
	hasSources        bool
	calendarSpec      *string
}

// decode checks opts' keys and types; edit admits the keys only Edit takes.
func (opts Options) decode(edit bool) (options, error) {
	var o options
	for _, key := range slices.Sorted(maps.Keys(opts)) {
		v := opts[key]
		var err error
		switch key {
		case keyDefaultSizePolicy:
			o.defaultSizePolicy, err = optString(key, v)
		case keyAutoindex:
			o.autoindex, err = optBool(key, v)
		case keyBoot:
			o.boot, err = optBool(key, v)
		case keyRevert:
			o.revert, err = optBool(key, v)
		case keyPolicyType:
			var s *string
			if s, err = optString(key, v); err == nil {
				o.policyType, err = policyType(*s)
			}
		case keySources, keyCalendarSpec:
			if !edit {
				return o, fmt.Errorf("%w: unknown option %q", ErrInvalid, key)
			}
			if key == keySources {
				o.sources, o.hasSources = v.([]string)
				if !o.hasSources {
					err = typeError(key, v, "a list of strings")
				}
			} else {
				o.calendarSpec, err = optString(key, v)
			}
		default:
			if !isParamKey(key) {
				return o, fmt.Errorf("%w: unknown option %q", ErrInvalid, key)
			}
			var n int64
			if n, err = optInt(key, v); err == nil {
				if o.keep == nil {
					o.keep = make(map[string]int64)
				}
				o.keep[key] = n
			}
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func isParamKey(key string) bool {
	for _, keys := range paramKeys {
		if slices.Contains(keys, key) {
			return true
		}
	}
	return false
}

// policyType reads a policy type as snapm's CLI does (--policy-type is
// lowercased, checked against its choices, and uppercased for the file).
func policyType(s string) (*PolicyType, error) {
	for _, t := range []PolicyType{All, Count, Age, Timeline} {
		if strings.EqualFold(s, string(t)) {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("%w: Unknown policy type: %s (choose from ALL, COUNT, AGE, TIMELINE)", ErrInvalid, s)
}

func typeError(key string, v any, want string) error {
	return fmt.Errorf("%w: option %q must be %s, not %T", ErrInvalid, key, want, v)
}

func optString(key string, v any) (*string, error) {
	s, ok := v.(string)
	if !ok {
		return nil, typeError(key, v, "a string")
	}
	return &s, nil
}

func optBool(key string, v any) (*bool, error) {
	b, ok := v.(bool)
	if !ok {
		return nil, typeError(key, v, "a boolean")
	}
	return &b, nil
}

// optInt takes any Go integer: the D-Bus adapter passes what the client
// sent, and a count is a count in any width.
func optInt(key string, v any) (int64, error) {
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return rv.Int(), nil
	case !rv.CanUint():
		return 0, typeError(key, v, "an integer")
	case rv.Uint() > math.MaxInt64:
		return 0, fmt.Errorf("%w: option %q is out of range: %d", ErrInvalid, key, rv.Uint())
	}
	return int64(rv.Uint()), nil
}

// New makes a schedule as `snapm schedule create NAME SOURCE... -C
// CALENDARSPEC` does with the options given, or says why snapm would
// refuse it. policy_type is required, as --policy-type is; a keep_* key
// that is not the type's is ignored, as snapm's GcPolicy.from_cmd_args
// ignores it, and one not given is 0, as in snapm's CLI (so COUNT with
// keep_count 0 is made, as snapm makes it). autoindex defaults to true,
// which snapm's CLI always passes; boot and revert to false. The default
// size policy is not checked, as snapm does not check it (it fails when a
// snapshot set is made); a source's size policy is. The calendar is the
// caller's to check; only an empty one is refused here.
func New(name string, sources []string, calendarSpec string, opts Options) (Schedule, error) {
	o, err := opts.decode(false)
	if err != nil {
		return Schedule{}, err
	}
	if o.policyType == nil {
		return Schedule{}, fmt.Errorf("%w: the option %q is required", ErrInvalid, keyPolicyType)
	}
	if err := ValidateName(name); err != nil {
		return Schedule{}, err
	}
	s := Schedule{
		Name:         name,
		Sources:      slices.Clone(sources),
		Autoindex:    true,
		CalendarSpec: calendarSpec,
		PolicyName:   name,
		PolicyType:   *o.policyType,
		Params:       zeroParams(*o.policyType),
	}
	return o.apply(s)
}

// Edit returns s changed as `snapm schedule edit` changes it (edit_schedule:
// the name stays, and what is not given keeps its value) but with a{sv}
// meaning: a key given replaces, whatever its value, so that an empty
// default_size_policy clears it (snapm's -s "" keeps it) and a policy
// whose keep_* keys are all 0 is taken (snapm's CLI keeps the old policy
// then). A policy_type other than s's starts its keep_* keys at 0; a
// keep_* key alone changes s's policy if the key is its type's. Any given
// policy key makes the policy the schedule's own (policy_name NAME), as
// snapm does. The sources are checked again whether given or not, as
// snapm's Scheduler.edit checks them.
func (s Schedule) Edit(changes Options) (Schedule, error) {
	o, err := changes.decode(true)
	if err != nil {
		return Schedule{}, err
	}
	s = s.clone()
	if o.hasSources {
		s.Sources = slices.Clone(o.sources)
	}
	if o.calendarSpec != nil {
		s.CalendarSpec = *o.calendarSpec
	}
	if o.policyType != nil && *o.policyType != s.PolicyType {
		s.PolicyType = *o.policyType
		s.Params = zeroParams(s.PolicyType)
	}
	if o.policyType != nil || len(o.keep) > 0 {
		s.PolicyName = s.Name
	}
	return o.apply(s)
}

// apply sets what New and Edit share and checks the result.
func (o options) apply(s Schedule) (Schedule, error) {
	if o.defaultSizePolicy != nil {
		s.DefaultSizePolicy = *o.defaultSizePolicy
	}
	if o.autoindex != nil {
		s.Autoindex = *o.autoindex
	}
	if o.boot != nil {
		s.Boot = *o.boot
	}
	if o.revert != nil {
		s.Revert = *o.revert
	}
	for i, p := range s.Params {
		if v, ok := o.keep[p.Key]; ok {
			s.Params[i].Value = v
		}
	}
	if s.CalendarSpec == "" {
		return Schedule{}, fmt.Errorf("%w: the calendar spec is empty", ErrInvalid)
	}
	if err := checkSources(s.Sources); err != nil {
		return Schedule{}, err
	}
	return s, nil
}
