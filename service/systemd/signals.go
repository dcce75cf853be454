package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/timers"
)

const (
	dbusName  = "org.freedesktop.DBus"
	dbusIface = "org.freedesktop.DBus"
)

// Subscribe routes systemd's signals to ev and to the job tracker, and asks
// systemd to send them. Call it before reading any state: a change between
// the read and the subscription would otherwise be lost.
func (c *Client) Subscribe(ctx context.Context, ev Events) error {
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("JobRemoved")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("UnitFilesChanged")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("Reloading")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(propsIface), dbus.WithMatchMember("PropertiesChanged"),
			dbus.WithMatchPathNamespace(dbus.ObjectPath(unitPrefix[:len(unitPrefix)-1]))},
		{dbus.WithMatchSender(dbusName), dbus.WithMatchInterface(dbusIface), dbus.WithMatchMember("NameOwnerChanged"),
			dbus.WithMatchArg(0, busName)},
	}
	for _, m := range matches {
		if err := c.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("adding match for systemd signals: %w", err)
		}
	}
	ch := make(chan *dbus.Signal, 64)
	c.conn.Signal(ch)
	go c.dispatch(ev, ch)
	go c.files.judge(c.ctx, ev)
	_, err := c.call(ctx, "Subscribe")
	return err
}

func (c *Client) dispatch(ev Events, ch <-chan *dbus.Signal) {
	for sig := range ch {
		switch sig.Name {
		case managerIface + ".JobRemoved":
			var id uint32
			var job dbus.ObjectPath
			var unit, result string
			if dbus.Store(sig.Body, &id, &job, &unit, &result) == nil {
				c.jobs.removed(job, result)
			}
		case propsIface + ".PropertiesChanged":
			c.propertiesChanged(ev, sig)
		case managerIface + ".Reloading":
			var starting bool
			// A reload changes loaded units, never the files on disk.
			if dbus.Store(sig.Body, &starting) == nil && !starting {
				ev.Resync(timers.ReadUnit)
			}
		case managerIface + ".UnitFilesChanged":
			c.files.signal()
		case dbusIface + ".NameOwnerChanged":
			c.ownerChanged(ev, sig)
		}
	}
}

func (c *Client) propertiesChanged(ev Events, sig *dbus.Signal) {
	var iface string
	var changed map[string]dbus.Variant
	var invalidated []string
	if dbus.Store(sig.Body, &iface, &changed, &invalidated) != nil || len(changed) == 0 {
		return
	}
	unit, ok := unitFromPath(sig.Path)
	if !ok {
		return
	}
	if strings.HasSuffix(unit, ".service") {
		ev.ServiceChanged(unit, uint64(sig.Sequence), func(st *timers.RunState) { applyServiceProps(st, changed) })
		return
	}
	ev.UnitChanged(unit, uint64(sig.Sequence), func(st *timers.UnitState) { applyProps(st, changed) })
}

// ownerChanged handles systemd coming back on the bus (after a
// daemon-reexec or a bus restart): it forgets subscribers, so subscribe
// again and re-read everything.
func (c *Client) ownerChanged(ev Events, sig *dbus.Signal) {
	var name, oldOwner, newOwner string
	if dbus.Store(sig.Body, &name, &oldOwner, &newOwner) != nil || name != busName || newOwner == "" {
		return
	}
	c.log.Info("systemd reconnected to the bus, resubscribing", zap.String("owner", newOwner))
	go func() {
		// A daemon-reexec keeps subscribers (systemd serializes them); a
		// restarted bus does not.
		var callErr *CallError
		if _, err := c.call(c.ctx, "Subscribe"); errors.As(err, &callErr) && callErr.Name == busName+".AlreadySubscribed" {
			c.log.Debug("systemd kept our subscription")
		} else if err != nil {
			c.log.Error("resubscribing to systemd", zap.Error(err))
		}
		ev.Resync(timers.ReadAll)
	}()
}
