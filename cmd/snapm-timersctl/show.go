package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

func runShow(ctx context.Context, a *app, args []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		// No timer: the service's own properties, as systemctl show
		// without a unit shows the manager's.
		var props map[string]dbus.Variant
		err := c.conn.Object(busName, rootPath).CallWithContext(ctx, propsIface+".GetAll", 0, managerIface).Store(&props)
		if err != nil {
			return failed("read the service's properties", "", err)
		}
		return a.page(func(w io.Writer) error {
			return a.renderShow(w, []Timer{{Path: rootPath, Props: props}})
		})
	}
	ts, lookupErr := a.selectTimers(ctx, c, args)
	if lookupErr != nil && exitCode(lookupErr) == exitNoService {
		return lookupErr
	}
	if err := a.page(func(w io.Writer) error { return a.renderShow(w, ts) }); err != nil {
		return err
	}
	return lookupErr
}

// timestampProps are shown as systemctl show shows timestamps: formatted,
// empty for none.
var timestampProps = []string{"NextElapse", "LastTrigger", "LastRunStart", "LastRunEnd"}

func (a *app) renderShow(w io.Writer, ts []Timer) error {
	if a.jsonOn() {
		if len(ts) == 1 && ts[0].Path == rootPath {
			return a.writeJSON(w, timersJSON(ts, a.opts.props)[0])
		}
		return a.writeJSON(w, timersJSON(ts, a.opts.props))
	}
	var sb strings.Builder
	for i, t := range ts {
		if i > 0 {
			sb.WriteByte('\n')
		}
		names := a.opts.props
		if len(names) == 0 {
			names = t.propNames()
			if t.Path == rootPath {
				names = sortedKeys(t.Props)
			}
		}
		props := t.shownProps()
		for _, n := range names {
			v, ok := props[n]
			if !ok {
				continue
			}
			value := showValue(n, v, a)
			if a.opts.value {
				sb.WriteString(value + "\n")
			} else {
				sb.WriteString(n + "=" + value + "\n")
			}
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func showValue(name string, v dbus.Variant, a *app) string {
	switch x := v.Value().(type) {
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case uint64:
		if slices.Contains(timestampProps, name) {
			if x == 0 {
				return ""
			}
			return formatTimestamp(x, a.loc)
		}
		return fmt.Sprint(x)
	case string:
		return x
	}
	return fmt.Sprint(v.Value())
}

func sortedKeys(m map[string]dbus.Variant) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
