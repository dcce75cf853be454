package main

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/godbus/dbus/v5"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
)

const scheduleIface = introspection.Schedule

// Schedule is one schedule object as the service publishes it, read with
// the property helpers of Timer, whose Running and NextElapse it shares.
type Schedule struct{ Timer }

// schedules reads every schedule in one call, by name.
func (c *client) schedules(ctx context.Context) ([]Schedule, error) {
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	err := c.conn.Object(busName, rootPath).CallWithContext(ctx, objectManager+".GetManagedObjects", 0).Store(&objs)
	if err != nil {
		return nil, err
	}
	var out []Schedule
	for path, ifaces := range objs {
		if props, ok := ifaces[scheduleIface]; ok {
			out = append(out, Schedule{Timer{Path: path, Props: props}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].str("Name") < out[j].str("Name") })
	return out, nil
}

// schedule reads the schedule named name.
func (c *client) schedule(ctx context.Context, name string) (Schedule, error) {
	var path dbus.ObjectPath
	err := c.conn.Object(busName, rootPath).CallWithContext(ctx, managerIface+".GetSchedule", 0, name).Store(&path)
	if err != nil {
		return Schedule{}, err
	}
	var props map[string]dbus.Variant
	err = c.conn.Object(busName, path).CallWithContext(ctx, propsIface+".GetAll", 0, scheduleIface).Store(&props)
	return Schedule{Timer{Path: path, Props: props}}, err
}

// selectSchedules reads the schedules that names and patterns pick, all
// without arguments; see pick.
func (a *app) selectSchedules(ctx context.Context, c *client, args []string) ([]Schedule, error) {
	list := func() ([]Schedule, error) {
		all, err := c.schedules(ctx)
		if err != nil {
			return nil, failed("list schedules", "", err)
		}
		return all, nil
	}
	read := func(name string) (Schedule, error) {
		s, err := c.schedule(ctx, name)
		if err != nil {
			return s, failed("look up schedule", name, err)
		}
		return s, nil
	}
	return pick(a, args, list, func(s Schedule) []string { return []string{s.str("Name")} }, read)
}

// errNoMatch is a pattern that picked no schedule for a verb that changes
// something, which systemctl too reports rather than doing nothing quietly.
var errNoMatch = errors.New("no schedule matches")

// eachSchedule runs fn on every schedule that args pick, going on after a
// failure as systemctl does; the first failure decides the exit.
func (a *app) eachSchedule(ctx context.Context, args []string, fn func(c *client, s Schedule) error) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	ss, first := a.selectSchedules(ctx, c, args)
	if first != nil && exitCode(first) == exitNoService {
		return first
	}
	if len(ss) == 0 && first == nil {
		return cliError{fmt.Sprintf("%v: %v", errNoMatch, args), exitNoSuchTimer}
	}
	f := failures{w: a.stderr, first: first}
	for _, s := range ss {
		if f.add(fn(c, s)) {
			break
		}
	}
	return f.first
}
