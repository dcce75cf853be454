package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// options are the command line's switches; any may stand anywhere, as in
// systemd's tools, and "--" ends them.
type options struct {
	help, version, noPager, noLegend, noAskPassword bool
	value, enable, now                              bool
	json                                            string
	host                                            string
	props, states                                   []string
	iterations                                      uint32
	baseTime                                        string
	// changes are the schedule options given, keyed as the Schedule API's
	// a{sv} (CreateSchedule's options, Edit's changes).
	changes map[string]any
	// given records which options the command line used, so that a verb
	// can refuse the ones it does not take.
	given []string
}

// optionSpec describes one option: its names and whether it takes a value.
type optionSpec struct {
	long, short string
	hasArg      bool
	// optionalArg: --json alone means --json=short.
	optionalArg bool
	set         func(o *options, v string) error
}

var optionSpecs = []optionSpec{
	{long: "help", short: "h", set: func(o *options, _ string) error { o.help = true; return nil }},
	{long: "version", set: func(o *options, _ string) error { o.version = true; return nil }},
	{long: "no-pager", set: func(o *options, _ string) error { o.noPager = true; return nil }},
	{long: "no-legend", set: func(o *options, _ string) error { o.noLegend = true; return nil }},
	{long: "no-ask-password", set: func(o *options, _ string) error { o.noAskPassword = true; return nil }},
	{long: "value", set: func(o *options, _ string) error { o.value = true; return nil }},
	{long: "enable", set: func(o *options, _ string) error { o.enable = true; return nil }},
	{long: "now", set: func(o *options, _ string) error { o.now = true; return nil }},
	{long: "json", hasArg: true, optionalArg: true, set: func(o *options, v string) error {
		if v == "" {
			v = "short"
		}
		if v != "short" && v != "pretty" && v != "off" {
			return usagef("--json= takes short, pretty or off, not '%s'.", v)
		}
		o.json = v
		return nil
	}},
	{long: "host", short: "H", hasArg: true, set: func(o *options, v string) error {
		if v == "" || strings.HasPrefix(v, "-") {
			return usagef("--host= wants [USER@]HOST, not '%s'.", v)
		}
		o.host = v
		return nil
	}},
	{long: "property", short: "p", hasArg: true, set: func(o *options, v string) error {
		o.props = append(o.props, splitList(v)...)
		return nil
	}},
	{long: "state", hasArg: true, set: func(o *options, v string) error {
		for _, s := range splitList(v) {
			if !slices.Contains([]string{"disabled", "enabled", "running", "invalid"}, s) {
				return usagef("--state= takes disabled, enabled, running or invalid, not '%s'.", s)
			}
			o.states = append(o.states, s)
		}
		return nil
	}},
	{long: "iterations", hasArg: true, set: func(o *options, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || n > 1000 {
			return usagef("--iterations= takes a number from 1 to 1000, not '%s'.", v)
		}
		o.iterations = uint32(n)
		return nil
	}},
	{long: "base-time", hasArg: true, set: func(o *options, v string) error { o.baseTime = v; return nil }},
	// The schedule options, named as `snapm schedule`'s (whose -p,
	// --policy-type, is -p, --property here: use the long name).
	{long: "calendarspec", short: "C", hasArg: true, set: change("calendarspec")},
	{long: "size-policy", short: "s", hasArg: true, set: change("default_size_policy")},
	{long: "bootable", short: "b", set: change("boot")},
	{long: "revert", short: "r", set: change("revert")},
	{long: "start", set: func(o *options, _ string) error { o.now = true; return nil }},
	{long: "policy-type", hasArg: true, set: func(o *options, v string) error {
		v = strings.ToLower(v)
		if !slices.Contains([]string{"all", "count", "age", "timeline"}, v) {
			return usagef("--policy-type= takes all, count, age or timeline, not '%s'.", v)
		}
		return change("policy_type")(o, v)
	}},
}

// keepKeys are snapm's gc_policy parameters, in its order.
var keepKeys = []string{"keep_count", "keep_years", "keep_months", "keep_weeks", "keep_days",
	"keep_yearly", "keep_quarterly", "keep_monthly", "keep_weekly", "keep_daily", "keep_hourly"}

func init() {
	for _, key := range keepKeys {
		long := strings.ReplaceAll(key, "_", "-")
		optionSpecs = append(optionSpecs, optionSpec{long: long, hasArg: true, set: func(o *options, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return usagef("--%s= takes a count from 0 up, not '%s'.", long, v)
			}
			return change(key)(o, strconv.FormatUint(n, 10))
		}})
	}
}

// change records a schedule option under its API key: a flag as true, a
// keep_* count as uint32 (as GcPolicyParams publishes them), else the text.
func change(key string) func(o *options, v string) error {
	return func(o *options, v string) error {
		if o.changes == nil {
			o.changes = map[string]any{}
		}
		switch {
		case key == "boot" || key == "revert":
			o.changes[key] = true
		case strings.HasPrefix(key, "keep_"):
			n, _ := strconv.ParseUint(v, 10, 32)
			o.changes[key] = uint32(n)
		default:
			o.changes[key] = v
		}
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parse splits args into the verb, its arguments and the options.
func (a *app) parse(args []string) (string, []string, error) {
	a.opts.iterations = 1
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.TrimPrefix(arg, "--"), "", false
		var spec *optionSpec
		if strings.HasPrefix(arg, "--") {
			name, value, hasValue = strings.Cut(name, "=")
			spec = findOption(func(s optionSpec) bool { return s.long == name })
		} else {
			// -H host, -Hhost, -p Prop
			name, value = arg[1:2], arg[2:]
			hasValue = value != ""
			spec = findOption(func(s optionSpec) bool { return s.short == name })
		}
		if spec == nil {
			return "", nil, usagef("Unknown option '%s'.", arg)
		}
		switch {
		case !spec.hasArg && hasValue:
			return "", nil, usagef("Option '%s' takes no value.", arg)
		case spec.hasArg && !hasValue && !spec.optionalArg:
			if i+1 >= len(args) {
				return "", nil, usagef("Option '%s' needs a value.", arg)
			}
			i++
			value = args[i]
		}
		if err := spec.set(&a.opts, value); err != nil {
			return "", nil, err
		}
		a.opts.given = append(a.opts.given, spec.long)
	}
	if len(positional) == 0 {
		if a.opts.help {
			return "", nil, nil
		}
		return "list", nil, nil
	}
	return positional[0], positional[1:], nil
}

func findOption(match func(optionSpec) bool) *optionSpec {
	for i := range optionSpecs {
		if match(optionSpecs[i]) {
			return &optionSpecs[i]
		}
	}
	return nil
}

// globalOptions go with every verb.
var globalOptions = []string{"help", "version", "no-pager", "no-legend", "no-ask-password", "host"}

func (a *app) checkOptions(name string, v verb) error {
	for _, o := range a.opts.given {
		if !slices.Contains(globalOptions, o) && !slices.Contains(v.options, o) {
			return usagef("%s does not take --%s.", name, o)
		}
	}
	return nil
}

// verb is one command.
type verb struct {
	usage, summary string
	// details is the verb's own --help text after its usage line.
	details  string
	min, max int
	options  []string
	run      func(ctx context.Context, a *app, args []string) error
}

func (v verb) help() string {
	return fmt.Sprintf("%s %s\n\n%s.\n%s", progName, v.usage, v.summary, v.details)
}

var verbOrder = []string{"list", "status", "show", "create", "enable", "start", "stop", "disable",
	"set-calendar", "remove", "run-now", "calendar", "monitor", "schedule"}

var verbs map[string]verb

func init() {
	verbs = map[string]verb{
		"list": {usage: "list [PATTERN...] [--state=STATUS,...]", summary: "List timers, next elapse first",
			details: "\n  --state=STATUS,...  only timers with one of these statuses\n  --json=MODE         short, pretty or off\n  --no-legend         no header and no count\n",
			max:     -1, options: []string{"state", "json"}, run: runList},
		"status": {usage: "status [TIMER|PATTERN...]", summary: "Show the status of timers (all by default)",
			details: "\n  --json=MODE   short, pretty or off\n", max: -1, options: []string{"json"}, run: runStatus},
		"show": {usage: "show [TIMER...] [-p PROP...] [--value]", summary: "Show properties as Key=value lines",
			details: "\n  -p, --property=NAME  only these properties\n  --value              print the values only\n  --json=MODE          short, pretty or off\n",
			max:     -1, options: []string{"property", "value", "json"}, run: runShow},
		"create": {usage: "create TYPE NAME CALENDAR", summary: "Create a timer",
			details: "\n  --enable  enable it too\n  --now     enable and start it too\n",
			min:     3, max: 3, options: []string{"enable", "now"}, run: runCreate},
		"enable": {usage: "enable TIMER...", summary: "Enable timers (--now: start them too)",
			details: "\n  --now  start them too\n", min: 1, max: -1, options: []string{"now"}, run: runEnable},
		"start": {usage: "start TIMER...", summary: "Start enabled timers", min: 1, max: -1, run: runSimple("Start", "start")},
		"stop":  {usage: "stop TIMER...", summary: "Stop timers; they stay enabled", min: 1, max: -1, run: runSimple("Stop", "stop")},
		"disable": {usage: "disable TIMER...", summary: "Stop and disable timers",
			details: "\n  --now  accepted for systemctl's sake; disable always stops\n",
			min:     1, max: -1, options: []string{"now"}, run: runSimple("Disable", "disable")},
		"set-calendar": {usage: "set-calendar TIMER CALENDAR", summary: "Change a timer's schedule", min: 2, max: 2, run: runSetCalendar},
		"remove": {usage: "remove TIMER...", summary: "Disable and remove timers",
			details: "\n  --now  accepted for systemctl's sake; remove always stops\n",
			min:     1, max: -1, options: []string{"now"}, run: runRemove},
		"run-now": {usage: "run-now TIMER", summary: "Run a timer's service now", min: 1, max: 1, run: runRunNow},
		"calendar": {usage: "calendar EXPR...", summary: "Check calendar expressions as systemd-analyze calendar does",
			details: "\n  --iterations=N   show N elapses (default 1)\n  --base-time=TIME count from TIME instead of now\n",
			min:     1, max: -1, options: []string{"iterations", "base-time"}, run: runCalendar},
		"monitor": {usage: "monitor", summary: "Print one line per change until interrupted",
			details: "\n  --json=MODE  one JSON object per line\n", max: 0, options: []string{"json"}, run: runMonitor},
		"schedule": {usage: "schedule COMMAND ...", summary: "Manage snapm schedules (list, show, create, edit, delete, ...)",
			details: scheduleHelp(), min: 1, max: -1, options: scheduleOptions(), run: runSchedule},
	}
}

const optionsHelp = `
Options:
  -h --help               Show this help
     --version            Show the version
     --no-pager           Do not pipe output into a pager
     --no-legend          Do not print the header and the count
     --no-ask-password    Do not ask for a password when authorizing
  -H --host=[USER@]HOST   Operate on a remote host (over ssh)
     --json=MODE          Output JSON: short, pretty or off
     --state=STATUS,...   list: only timers with these statuses
  -p --property=NAME      show: only these properties
     --value              show: only the values
     --enable, --now      create/enable: enable, start too
     --iterations=N       calendar: how many elapses to show
     --base-time=TIME     calendar: count from TIME, not now
`
