package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// event is one change the monitor reports.
type event struct {
	Time    uint64         `json:"time"`
	Event   string         `json:"event"`
	Timer   string         `json:"timer,omitempty"`
	Path    string         `json:"path,omitempty"`
	Changes map[string]any `json:"properties,omitempty"`
	// old holds the previous values of the changed properties, for the
	// text line's "old → new".
	old map[string]dbus.Variant
	new map[string]dbus.Variant
}

// monitor keeps the objects as last published, to tell what a signal
// changed, and accepts signals only from the service's current owner.
type monitor struct {
	owner   string
	objects map[dbus.ObjectPath]Timer
}

func runMonitor(ctx context.Context, a *app, _ []string) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	conn := c.conn
	// Subscribe before reading the state, so that no change falls between.
	rules := [][]dbus.MatchOption{
		{dbus.WithMatchSender(busName), dbus.WithMatchPathNamespace(rootPath)},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, busName)},
	}
	for _, r := range rules {
		if err := conn.AddMatchSignalContext(ctx, r...); err != nil {
			return failed("subscribe to the service's signals", "", err)
		}
	}
	ch := make(chan *dbus.Signal, 256)
	conn.Signal(ch)
	m := &monitor{objects: map[dbus.ObjectPath]Timer{}}
	// The first call activates the service; signals queue meanwhile and
	// are judged once its owner is known.
	all, err := c.timers(ctx)
	if err != nil {
		return failed("list timers", "", err)
	}
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&m.owner); err != nil {
		return failed("find the service", "", err)
	}
	for _, t := range all {
		m.objects[t.Path] = t
	}
	// On stderr, so that stdout stays one event a line.
	fmt.Fprintf(a.stderr, "Monitoring %d timers; Ctrl-C stops.\n", len(all))
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-ch:
			if !ok {
				return cliError{"The bus connection was closed.", exitFailure}
			}
			for _, ev := range m.handle(sig) {
				ev.Time = uint64(a.now().UnixMicro())
				if err := a.printEvent(a.stdout, ev); err != nil {
					return err
				}
			}
			if sig.Name == "org.freedesktop.DBus.NameOwnerChanged" && m.owner != "" {
				// A new daemon: what it publishes may differ from the old one's.
				all, err := c.timers(ctx)
				if err != nil {
					return failed("list timers", "", err)
				}
				for _, ev := range m.resync(all) {
					ev.Time = uint64(a.now().UnixMicro())
					if err := a.printEvent(a.stdout, ev); err != nil {
						return err
					}
				}
			}
		}
	}
}

// handle turns one signal into the changes it carries.
func (m *monitor) handle(sig *dbus.Signal) []event {
	if sig.Name == "org.freedesktop.DBus.NameOwnerChanged" {
		if len(sig.Body) < 3 {
			return nil
		}
		m.owner, _ = sig.Body[2].(string)
		if m.owner == "" {
			return []event{{Event: "daemon-left"}}
		}
		return []event{{Event: "daemon-started"}}
	}
	if sig.Sender != m.owner {
		return nil
	}
	switch sig.Name {
	case objectManager + ".InterfacesAdded":
		path, _ := sig.Body[0].(dbus.ObjectPath)
		ifaces, _ := sig.Body[1].(map[string]map[string]dbus.Variant)
		props, ok := ifaces[timerIface]
		if !ok {
			return nil
		}
		t := Timer{Path: path, Props: props}
		m.objects[path] = t
		return []event{added(t)}
	case objectManager + ".InterfacesRemoved":
		path, _ := sig.Body[0].(dbus.ObjectPath)
		t, ok := m.objects[path]
		if !ok {
			return nil
		}
		delete(m.objects, path)
		return []event{{Event: "removed", Timer: t.ID(), Path: string(path)}}
	case propsIface + ".PropertiesChanged":
		changed, _ := sig.Body[1].(map[string]dbus.Variant)
		t, ok := m.objects[sig.Path]
		if !ok {
			return nil
		}
		next := Timer{Path: sig.Path, Props: make(map[string]dbus.Variant, len(t.Props))}
		for k, v := range t.Props {
			next.Props[k] = v
		}
		ev := event{Event: "changed", Timer: t.ID(), Path: string(sig.Path), old: map[string]dbus.Variant{}, new: changed,
			Changes: map[string]any{}}
		for k, v := range changed {
			ev.old[k] = t.Props[k]
			ev.Changes[k] = v.Value()
			next.Props[k] = v
		}
		m.objects[sig.Path] = next
		return []event{ev}
	}
	return nil
}

func added(t Timer) event {
	return event{Event: "added", Timer: t.ID(), Path: string(t.Path), Changes: jsonProps(t.Props, t.propNames()), new: t.Props}
}

// resync compares a fresh read with what was known.
func (m *monitor) resync(all []Timer) []event {
	var out []event
	seen := map[dbus.ObjectPath]bool{}
	for _, t := range all {
		seen[t.Path] = true
		old, ok := m.objects[t.Path]
		m.objects[t.Path] = t
		if !ok {
			out = append(out, added(t))
			continue
		}
		ev := event{Event: "changed", Timer: t.ID(), Path: string(t.Path), old: map[string]dbus.Variant{},
			new: map[string]dbus.Variant{}, Changes: map[string]any{}}
		for k, v := range t.Props {
			if old.Props[k].String() != v.String() {
				ev.old[k], ev.new[k], ev.Changes[k] = old.Props[k], v, v.Value()
			}
		}
		if len(ev.Changes) > 0 {
			out = append(out, ev)
		}
	}
	for path, t := range m.objects {
		if !seen[path] {
			delete(m.objects, path)
			out = append(out, event{Event: "removed", Timer: t.ID(), Path: string(path)})
		}
	}
	return out
}

// printEvent writes one line: JSON, or "create/nightly: Status enabled →
// running, NextElapse → Tue 2026-12-01 00:00:00 UTC".
func (a *app) printEvent(w io.Writer, ev event) error {
	if a.jsonOn() {
		return a.writeJSON(w, ev)
	}
	st := a.style()
	var line string
	switch ev.Event {
	case "daemon-left":
		line = "snapm-timersd left the bus"
	case "daemon-started":
		line = "snapm-timersd started"
	case "removed":
		line = st.bold(ev.Timer) + " removed"
	case "added":
		t := Timer{Props: ev.new}
		line = fmt.Sprintf("%s added: %s, calendar %s", st.bold(ev.Timer), t.str("Status"), t.str("CalendarSpec"))
	case "changed":
		names := make([]string, 0, len(ev.new))
		for k := range ev.new {
			names = append(names, k)
		}
		slices.Sort(names)
		parts := make([]string, 0, len(names))
		for _, k := range names {
			from := ""
			if v, ok := ev.old[k]; ok && v.Signature().String() != "" {
				from = showValue(k, v, a) + " → "
			}
			parts = append(parts, fmt.Sprintf("%s %s%s", k, from, showValue(k, ev.new[k], a)))
		}
		line = fmt.Sprintf("%s: %s", st.bold(ev.Timer), strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
