// Unrelated unit churn: what units that are none of the daemon's business
// cost it, on a host where other units start and stop all the time
// (containers, CI jobs, socket-activated services).

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// churnTimers run while the unrelated units churn.
const churnTimers = 20

// churn enables and starts churnTimers timers, then starts units
// transient services that run /bin/true and end, and reports the CPU
// systemd, the daemon and dbus-daemon spent from the first start to the
// last unit's end. The daemon's share of systemd's is the figure judged:
// systemd's own cost is the host's, the daemon's is the tax.
func churn(e *env, r *report, section string, units int) error {
	for i := range churnTimers {
		if _, err := e.createWithFlags([]string{"create", "gc"}[i%2], fmt.Sprintf("churn%02d", i), "hourly", flagEnable|flagStart); err != nil {
			return err
		}
	}
	before, err := cpuOfBusyUnits(e)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := startTransient(e, units, 2); err != nil {
		return err
	}
	if err := waitGone(e, "bench-churn-*"); err != nil {
		return err
	}
	took := time.Since(start)
	after, err := cpuOfBusyUnits(e)
	if err != nil {
		return err
	}
	spent := make([]time.Duration, len(busyUnits))
	for i := range busyUnits {
		spent[i] = after[i] - before[i]
	}
	r.add(row{Section: section, Name: fmt.Sprintf("%d unrelated transient units start and end, %d timers running (wall)", units, churnTimers),
		Total: took})
	for i, u := range busyUnits {
		x := row{Section: section, Name: fmt.Sprintf("CPU of %s during the churn", u.name), Total: spent[i]}
		if u.unit == "snapm-timersd.service" {
			// /proc counts CPU in ticks of 10 ms: none means less than one.
			bound, less := spent[i], ""
			if bound == 0 {
				bound, less = 10*time.Millisecond, "under "
			}
			share := 100 * float64(bound) / float64(max(spent[0], time.Millisecond))
			x.Name += fmt.Sprintf(" (%s%.1f%% of systemd's)", less, share)
			x.Target, x.Met = "≤ 2% of systemd's", share <= 2
		}
		r.add(x)
	}
	return nil
}

// startTransient starts n transient services running /bin/true through
// systemd's StartTransientUnit, clients at a time, and returns once each
// start is queued.
func startTransient(e *env, n, clients int) error {
	type execStart struct {
		Path          string
		Argv          []string
		IgnoreFailure bool
	}
	type property struct {
		Name  string
		Value dbus.Variant
	}
	props := []property{
		{"ExecStart", dbus.MakeVariant([]execStart{{"/bin/true", []string{"/bin/true"}, false}})},
		{"CollectMode", dbus.MakeVariant("inactive-or-failed")},
	}
	aux := []struct {
		Name  string
		Props []property
	}{}
	return parallel(e, n, clients, func(c *env, i int) error {
		// A connection of its own, as systemd-run has: systemd watches the
		// name of the connection that made a transient unit while the unit
		// lives, with a match rule of its own, and dbus-daemon caps those.
		conn, err := connect(e.ns)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = conn.Object(sdName, sdPath).CallWithContext(ctx, sdManager+".StartTransientUnit", 0,
			fmt.Sprintf("bench-churn-%d.service", i), "fail", props, aux).Err
		if err != nil {
			return fmt.Errorf("StartTransientUnit: %w", err)
		}
		return nil
	})
}

// waitGone waits until systemd has no unit left matching pattern.
func waitGone(e *env, pattern string) error {
	sd := e.conn.Object(sdName, sdPath)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		call := sd.Call(sdManager+".ListUnitsByPatterns", 0, []string{}, []string{pattern})
		if call.Err != nil {
			return fmt.Errorf("ListUnitsByPatterns: %w", call.Err)
		}
		units, _ := call.Body[0].([][]any)
		if len(units) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d units %s still there after 5 minutes", len(units), pattern)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
