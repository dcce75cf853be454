package systemd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/timers"
)

// Subscribe routes systemd's signals to ev and to the job tracker, learns
// which peer is systemd, and asks systemd to send them; Run handles them.
// Call it before reading any state: a change between the read and the
// subscription would otherwise be lost. The units' PropertiesChanged and
// JobRemoved are matched as Follow and the jobs say (see follower).
func (c *Client) Subscribe(ctx context.Context, ev Events) error {
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("UnitFilesChanged")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("Reloading")},
		{dbus.WithMatchSender(dbusName), dbus.WithMatchInterface(dbusIface), dbus.WithMatchMember("NameOwnerChanged"),
			dbus.WithMatchArg(0, busName)},
	}
	for _, m := range matches {
		if err := c.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("adding match for systemd signals: %w", err)
		}
	}
	c.ev = ev
	c.signals = make(chan *dbus.Signal, 64)
	c.conn.Signal(c.signals)
	if err := c.files.owner.learn(ctx, c.conn); err != nil {
		return err
	}
	_, err := c.call(ctx, "Subscribe")
	return err
}

// Run handles the signals Subscribe asked for until ctx ends, and returns
// once nothing it started is running.
func (c *Client) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.dispatch(ctx) })
	wg.Go(func() { c.files.judge(ctx, c.ev) })
	wg.Go(func() { c.resubscribe(ctx) })
	wg.Go(func() { c.follow.check(ctx, c.ev) })
	wg.Wait()
}

func (c *Client) dispatch(ctx context.Context) {
	defer c.conn.RemoveSignal(c.signals)
	for {
		var sig *dbus.Signal
		select {
		case <-ctx.Done():
			return
		case sig = <-c.signals:
		}
		if sig == nil {
			return // the connection is gone
		}
		// Anyone may send us a signal: whatever systemd did not send is
		// dropped before it costs anything. UnitFilesChanged and
		// NameOwnerChanged are taken on the connection's reader
		// (FileChanges, owner).
		if !c.files.owner.is(sig.Sender) {
			continue
		}
		switch sig.Name {
		case managerIface + ".JobRemoved":
			var id uint32
			var job dbus.ObjectPath
			var unit, result string
			if dbus.Store(sig.Body, &id, &job, &unit, &result) == nil {
				c.jobs.removed(job, result)
			}
		case propsIface + ".PropertiesChanged":
			c.propertiesChanged(sig)
		case managerIface + ".Reloading":
			var starting bool
			// A reload changes loaded units, never the files on disk.
			if dbus.Store(sig.Body, &starting) == nil && !starting {
				c.ev.Resync(timers.ReadUnit)
			}
		}
	}
}

func (c *Client) propertiesChanged(sig *dbus.Signal) {
	// Starting one timer makes systemd signal a score of units (targets,
	// slices, sockets); a JobRemoved waits behind them all, so the others
	// are dropped before their bodies are converted.
	unit, ok := unitFromPath(sig.Path)
	if !ok {
		return
	}
	_, timer := timers.ParseUnit(unit)
	_, service := timers.ParseServiceUnit(unit)
	if !timer && !service {
		return
	}
	var iface string
	var changed map[string]dbus.Variant
	var invalidated []string
	if dbus.Store(sig.Body, &iface, &changed, &invalidated) != nil || len(changed) == 0 {
		return
	}
	if service {
		c.ev.ServiceChanged(unit, uint64(sig.Sequence), func(st *timers.RunState) { applyServiceProps(st, changed) })
		return
	}
	c.ev.UnitChanged(unit, uint64(sig.Sequence), c.applier(unit, changed))
}

// resubscribe answers systemd coming (back) on the bus, after a
// daemon-reexec or a bus restart: it may have forgotten its subscribers,
// and anything may have changed meanwhile. Owner changes that pile up
// while it works cost one more round, not one each. A Subscribe systemd
// refuses is asked again, less and less often, until it is taken or
// systemd changes hands again: unsubscribed, the published state would
// stop following systemd.
func (c *Client) resubscribe(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var backoff time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.files.owner.changed:
			c.log.Info("systemd reconnected to the bus, resubscribing", zap.String("owner", *c.files.owner.name.Load()))
			retry.Stop()
			backoff = 0
		case <-retry.C:
		}
		first := backoff == 0
		err := c.subscribe(ctx)
		if first || err == nil {
			// Whatever happened meanwhile, signals were missed.
			c.ev.Resync(timers.ReadAll)
		}
		if err == nil || ctx.Err() != nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, minResubscribe), maxResubscribe)
		c.log.Error("resubscribing to systemd, trying again", zap.Duration("in", backoff), zap.Error(err))
		retry.Reset(backoff)
	}
}

// The bounds of the wait before a refused Subscribe is asked again.
const (
	minResubscribe = 100 * time.Millisecond
	maxResubscribe = 5 * time.Second
)

// subscribe asks systemd for its signals again. A daemon-reexec keeps
// subscribers (systemd serializes them); a restarted bus does not.
func (c *Client) subscribe(ctx context.Context) error {
	var callErr *CallError
	_, err := c.call(ctx, "Subscribe")
	if errors.As(err, &callErr) && callErr.Name == busName+".AlreadySubscribed" {
		c.log.Debug("systemd kept our subscription")
		return nil
	}
	return err
}
