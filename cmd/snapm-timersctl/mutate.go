package main

import (
	"context"

	"github.com/godbus/dbus/v5"
)

// dbusAllowInteractive lets polkit ask the user during a call.
const dbusAllowInteractive = dbus.FlagAllowInteractiveAuthorization

func runCreate(ctx context.Context, a *app, args []string) error {
	typ, name, spec := args[0], args[1], args[2]
	if typ != "create" && typ != "gc" {
		return usagef("Unknown timer type '%s'; TYPE is create or gc.", typ)
	}
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	id := typ + "/" + name
	var flags uint64
	if a.opts.enable || a.opts.now {
		flags |= createEnable
	}
	if a.opts.now {
		flags |= createStart
	}
	var call *dbus.Call
	if flags == 0 {
		call = c.call(ctx, rootPath, managerIface+".CreateTimer", typ, name, spec)
	} else {
		// Enabled and started in the same call, all or nothing: a
		// schedule systemd refuses is not left half made.
		call = c.call(ctx, rootPath, managerIface+".CreateTimerWithFlags", typ, name, spec, flags)
	}
	if call.Err != nil {
		return failed("create", id, call.Err)
	}
	a.warnNever(ctx, c, spec)
	return nil
}

// CreateTimerWithFlags' flags.
const (
	createEnable uint64 = 1 << iota
	createStart
)

// each runs fn on every named timer, going on after a failure as
// systemctl does; every failure is printed, the first decides the exit.
func (a *app) each(ctx context.Context, ids []string, fn func(c *client, path dbus.ObjectPath, id string) error) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	f := failures{w: a.stderr}
	for _, id := range ids {
		path, full, err := c.resolve(ctx, id)
		if err != nil {
			err = failed("look up", full, err)
		} else if err = fn(c, path, full); err == nil {
			a.warnIfChanged(ctx, c, path)
		}
		if f.add(err) {
			break
		}
	}
	return f.first
}

// runSimple is a verb that calls one method without arguments per timer.
func runSimple(method, what string) func(ctx context.Context, a *app, args []string) error {
	return func(ctx context.Context, a *app, args []string) error {
		return a.each(ctx, args, func(c *client, path dbus.ObjectPath, id string) error {
			if err := c.call(ctx, path, timerIface+"."+method).Err; err != nil {
				return failed(what, id, err)
			}
			return nil
		})
	}
}

func runEnable(ctx context.Context, a *app, args []string) error {
	return a.each(ctx, args, func(c *client, path dbus.ObjectPath, id string) error {
		if err := c.call(ctx, path, timerIface+".Enable").Err; err != nil {
			return failed("enable", id, err)
		}
		if !a.opts.now {
			return nil
		}
		if err := c.call(ctx, path, timerIface+".Start").Err; err != nil {
			return failed("start", id, err)
		}
		return nil
	})
}

func runSetCalendar(ctx context.Context, a *app, args []string) error {
	return a.each(ctx, args[:1], func(c *client, path dbus.ObjectPath, id string) error {
		if err := c.call(ctx, path, timerIface+".SetCalendarSpec", args[1]).Err; err != nil {
			return failed("set the calendar of", id, err)
		}
		a.warnNever(ctx, c, args[1])
		return nil
	})
}

func runRemove(ctx context.Context, a *app, args []string) error {
	return a.each(ctx, args, func(c *client, path dbus.ObjectPath, id string) error {
		if err := c.call(ctx, rootPath, managerIface+".RemoveTimer", path).Err; err != nil {
			return failed("remove", id, err)
		}
		return nil
	})
}

// runRunNow starts the timer's service now.
func runRunNow(ctx context.Context, a *app, args []string) error {
	return a.each(ctx, args, func(c *client, path dbus.ObjectPath, id string) error {
		if err := c.call(ctx, path, timerIface+".RunNow").Err; err != nil {
			return failed("run now", id, err)
		}
		return nil
	})
}
