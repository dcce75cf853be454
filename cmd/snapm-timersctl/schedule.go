package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// scheduleVerb is one `schedule` subcommand: `snapm schedule`'s, on the
// Schedule API.
type scheduleVerb struct {
	usage, summary string
	min, max       int
	options        []string
	run            func(ctx context.Context, a *app, args []string) error
}

// policyOptions are `snapm schedule create`'s retention options.
var policyOptions = append([]string{"policy-type"}, keepOptions()...)

func keepOptions() []string {
	out := make([]string, len(keepKeys))
	for i, k := range keepKeys {
		out[i] = strings.ReplaceAll(k, "_", "-")
	}
	return out
}

var scheduleOrder = []string{"list", "show", "create", "edit", "delete", "enable", "disable", "start", "stop"}

var scheduleVerbs = map[string]scheduleVerb{
	"list": {usage: "list [PATTERN...]", summary: "List schedules, as snapm schedule list", max: -1,
		options: []string{"json"}, run: runScheduleList},
	"show": {usage: "show [NAME|PATTERN...]", summary: "Show schedules, as snapm schedule show", max: -1,
		options: []string{"json"}, run: runScheduleShow},
	"create": {usage: "create NAME SOURCE... OPTION...",
		summary: "Create a schedule and start its timers", min: 2, max: -1,
		options: append([]string{"calendarspec", "size-policy", "bootable", "revert", "json"}, policyOptions...), run: runScheduleCreate},
	"edit": {usage: "edit NAME [SOURCE...] [OPTION...]",
		summary: "Change a schedule", min: 1, max: -1,
		options: append([]string{"calendarspec", "size-policy", "bootable", "revert", "json"}, policyOptions...), run: runScheduleEdit},
	"delete": {usage: "delete NAME|PATTERN...", summary: "Stop and delete schedules (snapshot sets stay)", min: 1, max: -1,
		run: scheduleMethod("delete", func(c *client, ctx context.Context, s Schedule) *dbus.Call {
			return c.call(ctx, rootPath, managerIface+".DeleteSchedule", s.Path)
		})},
	"enable": {usage: "enable NAME|PATTERN... [--now]", summary: "Enable schedules (--now, --start: start them too)", min: 1, max: -1,
		options: []string{"now", "start"}, run: runScheduleEnable},
	"disable": {usage: "disable NAME|PATTERN...", summary: "Stop and disable schedules", min: 1, max: -1, options: []string{"now"},
		run: scheduleMethod("disable", simpleScheduleCall("Disable"))},
	"start": {usage: "start NAME|PATTERN...", summary: "Start enabled schedules", min: 1, max: -1,
		run: scheduleMethod("start", simpleScheduleCall("Start"))},
	"stop": {usage: "stop NAME|PATTERN...", summary: "Stop schedules; they stay enabled", min: 1, max: -1,
		run: scheduleMethod("stop", simpleScheduleCall("Stop"))},
}

// scheduleOptions are every option some schedule subcommand takes; each
// subcommand then refuses the ones it does not.
func scheduleOptions() []string {
	var out []string
	for _, v := range scheduleVerbs {
		for _, o := range v.options {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

func scheduleHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSubcommands, with the options of snapm schedule:\n")
	for _, name := range scheduleOrder {
		fmt.Fprintf(&b, "  %-40s %s\n", scheduleVerbs[name].usage, scheduleVerbs[name].summary)
	}
	b.WriteString(`
  -C, --calendarspec=CALENDAR  when snapshots are taken (systemd.time(7))
  -s, --size-policy=POLICY     the default size policy of the sources
  -b, --bootable               make a boot entry for each snapshot set
  -r, --revert                 make a revert boot entry too
      --policy-type=TYPE       all, count, age or timeline
      --keep-count=N           count: keep N snapshot sets
      --keep-years=N ... --keep-days=N     age: keep sets this young
      --keep-yearly=N ... --keep-hourly=N  timeline: keep N of each period
      --json=MODE              short, pretty or off
`)
	return b.String()
}

func runSchedule(ctx context.Context, a *app, args []string) error {
	name := args[0]
	v, ok := scheduleVerbs[name]
	if !ok {
		return usagef("Unknown schedule subcommand '%s'.", name)
	}
	args = args[1:]
	if len(args) < v.min || (v.max >= 0 && len(args) > v.max) {
		return usagef("schedule %s: wrong number of arguments; usage: %s schedule %s", name, progName, v.usage)
	}
	if err := a.checkOptions("schedule "+name, verb{options: v.options}); err != nil {
		return err
	}
	return v.run(ctx, a, args)
}

func simpleScheduleCall(method string) func(c *client, ctx context.Context, s Schedule) *dbus.Call {
	return func(c *client, ctx context.Context, s Schedule) *dbus.Call {
		return c.call(ctx, s.Path, scheduleIface+"."+method)
	}
}

// scheduleMethod is a subcommand that makes one call per schedule.
func scheduleMethod(what string, call func(c *client, ctx context.Context, s Schedule) *dbus.Call) func(ctx context.Context, a *app, args []string) error {
	return func(ctx context.Context, a *app, args []string) error {
		return a.eachSchedule(ctx, args, func(c *client, s Schedule) error {
			if err := call(c, ctx, s).Err; err != nil {
				return failed(what+" schedule", s.str("Name"), err)
			}
			return nil
		})
	}
}

func runScheduleEnable(ctx context.Context, a *app, args []string) error {
	return scheduleMethod("enable", func(c *client, ctx context.Context, s Schedule) *dbus.Call {
		return c.call(ctx, s.Path, scheduleIface+".Enable", a.opts.now)
	})(ctx, a, args)
}

func runScheduleCreate(ctx context.Context, a *app, args []string) error {
	name, sources := args[0], args[1:]
	opts := a.opts.scheduleChanges()
	spec, _ := opts["calendarspec"].(string)
	delete(opts, "calendarspec")
	if spec == "" {
		return usagef("schedule create needs --calendarspec=CALENDAR.")
	}
	if _, ok := opts["policy_type"]; !ok {
		return usagef("schedule create needs --policy-type=TYPE: all, count, age or timeline.")
	}
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	var path dbus.ObjectPath
	if err := c.call(ctx, rootPath, managerIface+".CreateSchedule", name, sources, spec, variants(opts)).Store(&path); err != nil {
		return failed("create schedule", name, err)
	}
	a.warnNever(ctx, c, spec)
	return a.showAfter(ctx, c, name)
}

func runScheduleEdit(ctx context.Context, a *app, args []string) error {
	name := args[0]
	changes := a.opts.scheduleChanges()
	if len(args) > 1 {
		changes["sources"] = args[1:]
	}
	if len(changes) == 0 {
		return usagef("schedule edit: nothing to change; give SOURCEs or options.")
	}
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	s, err := c.schedule(ctx, name)
	if err != nil {
		return failed("look up schedule", name, err)
	}
	if err := c.call(ctx, s.Path, scheduleIface+".Edit", variants(changes)).Err; err != nil {
		return failed("edit schedule", name, err)
	}
	if spec, ok := changes["calendarspec"].(string); ok {
		a.warnNever(ctx, c, spec)
	}
	return a.showAfter(ctx, c, name)
}

// showAfter prints a schedule just made or changed, as snapm does.
func (a *app) showAfter(ctx context.Context, c *client, name string) error {
	s, err := c.schedule(ctx, name)
	if err != nil {
		return failed("read schedule", name, err)
	}
	return a.renderSchedules(a.stdout, []Schedule{s})
}

// scheduleChanges copies the schedule options given, so that a
// subcommand may take from and add to them.
func (o options) scheduleChanges() map[string]any {
	out := make(map[string]any, len(o.changes)+1)
	maps.Copy(out, o.changes)
	return out
}

func variants(m map[string]any) map[string]dbus.Variant {
	out := make(map[string]dbus.Variant, len(m))
	for k, v := range m {
		out[k] = dbus.MakeVariant(v)
	}
	return out
}

func runScheduleList(ctx context.Context, a *app, patterns []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	all, err := c.schedules(ctx)
	if err != nil {
		return failed("list schedules", "", err)
	}
	var shown []Schedule
	for _, s := range all {
		if len(patterns) == 0 || slices.ContainsFunc(patterns, func(p string) bool { return globMatch(p, s.str("Name")) }) {
			shown = append(shown, s)
		}
	}
	return a.page(func(w io.Writer) error { return a.renderScheduleList(w, shown) })
}

func runScheduleShow(ctx context.Context, a *app, args []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	ss, lookupErr := a.selectSchedules(ctx, c, args)
	if lookupErr != nil && exitCode(lookupErr) == exitNoService {
		return lookupErr
	}
	if err := a.page(func(w io.Writer) error { return a.renderSchedules(w, ss) }); err != nil {
		return err
	}
	return lookupErr
}
