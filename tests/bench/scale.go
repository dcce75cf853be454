// The runs at scale: N timers enabled and started one after the other and
// from many clients at once, then what N timers cost the daemon (outside
// changes of unit files, GetManagedObjects, start-up, memory).

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/rawbus"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

// createMany makes n disabled timers from clients connections at once,
// the create and gc timers of n/2 schedules, as snapm makes them; creation
// is not what is measured.
func createMany(e *env, n, clients int) ([]dbus.ObjectPath, error) {
	// A schedule's file is written once, before either of its timers is
	// made, each from any of the clients.
	name := func(i int) string { return fmt.Sprintf("t%05d", i/2) }
	for i := 0; i < n; i += 2 {
		if err := e.ns.WriteSchedule(name(i), "daily"); err != nil {
			return nil, err
		}
	}
	paths := make([]dbus.ObjectPath, n)
	err := parallel(e, n, clients, func(c *env, i int) error {
		var err error
		paths[i], err = c.createTimer([]string{"create", "gc"}[i%2], name(i), "daily")
		return err
	})
	return paths, err
}

// parallel runs fn for 0..n-1 from clients connections of their own.
func parallel(e *env, n, clients int, fn func(c *env, i int) error) error {
	next := make(chan int)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn, err := connect(e.ns)
		if err != nil {
			return err
		}
		defer conn.Close()
		client := &env{ns: e.ns, conn: conn}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(client, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs
}

func enableStart(c *env, path dbus.ObjectPath) error {
	if err := c.must(path, timerIf+".Enable"); err != nil {
		return err
	}
	return c.must(path, timerIf+".Start")
}

// sequential enables and starts n fresh timers one after the other.
func sequential(e *env, r *report, n int) error {
	paths, err := createMany(e, n, 16)
	if err != nil {
		return err
	}
	alone, aloneDropIn, err := systemdAloneBoth(e, "before")
	if err != nil {
		return err
	}
	before := e.reloads.Count()
	per := make([]time.Duration, n)
	start := time.Now()
	for i, p := range paths {
		if per[i], err = timed(func() error { return enableStart(e, p) }); err != nil {
			return err
		}
	}
	total := time.Since(start)
	section := fmt.Sprintf("%d timers", n)
	r.add(row{Section: section, Name: "enable+start all, sequentially", Total: total, Count: n,
		Reloads: e.reloads.Count() - before, Target: targetFor(n, "sequential"), Met: metFor(n, total, 10*time.Second)})
	// The 10th and the last timers, each as the median of the 20 around it.
	tenth := median(per[:20])
	last := median(per[n-20:])
	r.add(row{Section: section, Name: "enable+start of the 10th timer (median of #1-#20)", Samples: per[:20]})
	name := fmt.Sprintf("enable+start of the %dth timer (median of the last 20)", n)
	lastRow := row{Section: section, Name: name, Samples: per[n-20:]}
	if n >= 1000 {
		lastRow.Target, lastRow.Met = "<= 2x the 10th", last <= 2*tenth
	}
	r.add(lastRow)
	after, afterDropIn, err := systemdAloneBoth(e, "after")
	if err != nil {
		return err
	}
	r.add(row{Section: section, Name: "systemd alone: EnableUnitFiles+StartUnit of a fresh timer, before the run", Samples: alone})
	r.add(row{Section: section, Name: fmt.Sprintf("systemd alone: the same with the %d timers running", n), Samples: after})
	r.add(row{Section: section, Name: "systemd alone, each timer with a new UNIT.d drop-in: before the run", Samples: aloneDropIn})
	r.add(row{Section: section, Name: fmt.Sprintf("systemd alone, each timer with a new UNIT.d drop-in: with the %d timers running", n), Samples: afterDropIn})
	if err := outsideUnitFiles(e, r, section, n); err != nil {
		return err
	}
	return sideBySide(e, r, section, 40)
}

// sequentialFresh creates, enables and starts n fresh timers one after
// the other, in three calls each and then, in a namespace of its own, in
// one CreateTimerWithFlags call each: unlike sequential's run, whose
// timers are created beforehand, each timer's new UNIT.d is in the time,
// and with it systemd's re-read of its unit directories at every start.
func sequentialFresh(opts sysns.Options, r *report, n int) error {
	section := fmt.Sprintf("%d timers", n)
	for _, way := range []struct {
		name   string
		create func(e *env, typ, name string) error
	}{
		{"three calls each (CreateTimer, Enable, Start)", func(e *env, typ, name string) error {
			path, err := e.create(typ, name, "daily")
			if err != nil {
				return err
			}
			return enableStart(e, path)
		}},
		{"one call each (CreateTimerWithFlags)", func(e *env, typ, name string) error {
			_, err := e.createWithFlags(typ, name, "daily", flagEnable|flagStart)
			return err
		}},
	} {
		progress("N=%d, sequentially from nothing, %s", n, way.name)
		err := withNS(opts, func(e *env) error {
			before := e.reloads.Count()
			start := time.Now()
			for i := 0; i < n; i++ {
				if err := way.create(e, []string{"create", "gc"}[i%2], fmt.Sprintf("t%05d", i)); err != nil {
					return err
				}
			}
			total := time.Since(start)
			r.add(row{Section: section, Name: "create+enable+start all, sequentially, " + way.name, Total: total, Count: n,
				Reloads: e.reloads.Count() - before, Target: targetFor(n, "sequential"), Met: metFor(n, total, 10*time.Second)})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// outsideUnitFiles measures the daemon's CPU time for someone else's
// change of unit files (an EnableUnitFiles of a unit it does not manage),
// after which it reads every timer's enablement and drop-in from disk (and
// asks systemd nothing, as none moved): the kernel's CPU accounting of the
// daemon, around 20 changes let settle one by one.
func outsideUnitFiles(e *env, r *report, section string, n int) error {
	sd, err := newDirect(e)
	if err != nil {
		return err
	}
	defer sd.close()
	const changes = 20
	before, err := daemonCPU(e)
	if err != nil {
		return err
	}
	for i := 0; i < changes; i++ {
		if err := sd.sd.Call(sdManager+".EnableUnitFiles", 0, []string{aloneUnit("outside", i)}, false, true).Err; err != nil {
			return err
		}
		time.Sleep(settle)
	}
	after, err := daemonCPU(e)
	if err != nil {
		return err
	}
	r.add(row{Section: section, Name: fmt.Sprintf("daemon CPU for an outside change of unit files (reads the unit files of the %d timers)", n),
		Total: (after - before) / changes, Count: 1})
	return nil
}

// daemonCPU is the daemon's user and system CPU time so far.
func daemonCPU(e *env) (time.Duration, error) { return unitCPU(e, "snapm-timersd.service") }

// unitCPU is the user and system CPU time so far of unit's main process,
// or of systemd itself for "".
func unitCPU(e *env, unit string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stat, err := procFile(ctx, e, unit, "stat")
	if err != nil {
		return 0, err
	}
	// Fields 14 and 15, after the command name in parentheses, in clock
	// ticks of 1/100 s (USER_HZ).
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	var ticks int64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat of %s: %q: %w", unit, stat, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procFile reads file under /proc of unit's main process, or of systemd
// itself for "".
func procFile(ctx context.Context, e *env, unit, file string) (string, error) {
	pid := "1"
	if unit != "" {
		out, err := e.ns.Output(ctx, "systemctl", "show", "-P", "MainPID", unit)
		if err != nil {
			return "", err
		}
		pid = strings.TrimSpace(out)
	}
	return e.ns.Output(ctx, "cat", "/proc/"+pid+"/"+file)
}

// busyUnits are the processes whose CPU the many-clients run reports:
// on two processors it is bound by their sum.
var busyUnits = []struct{ name, unit string }{
	{"systemd", ""}, {"the daemon", "snapm-timersd.service"}, {"dbus-daemon", "dbus.service"},
}

func cpuOfBusyUnits(e *env) ([]time.Duration, error) {
	out := make([]time.Duration, len(busyUnits))
	for i, u := range busyUnits {
		var err error
		if out[i], err = unitCPU(e, u.unit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// concurrent enables and starts n fresh timers from clients connections;
// then, with n timers running, it measures GetManagedObjects and the
// daemon's start-up.
func concurrent(e *env, r *report, n, clients int) error {
	paths, err := createMany(e, n, clients)
	if err != nil {
		return err
	}
	before := e.reloads.Count()
	cpuBefore, err := cpuOfBusyUnits(e)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := parallel(e, n, clients, func(c *env, i int) error { return enableStart(c, paths[i]) }); err != nil {
		return err
	}
	total := time.Since(start)
	cpuAfter, err := cpuOfBusyUnits(e)
	if err != nil {
		return err
	}
	section := fmt.Sprintf("%d timers", n)
	r.add(row{Section: section, Name: fmt.Sprintf("enable+start all, %d clients", clients), Total: total, Count: n,
		Reloads: e.reloads.Count() - before, Target: targetFor(n, "concurrent"), Met: metFor(n, total, 5*time.Second)})
	for i, u := range busyUnits {
		r.add(row{Section: section, Name: fmt.Sprintf("CPU of %s during the %d clients' run", u.name, clients),
			Total: cpuAfter[i] - cpuBefore[i], Count: n})
	}

	raw, size, err := timeRaw(e.ns.BusAddress(), "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", 10)
	if err != nil {
		return err
	}
	gmoRow := row{Section: section, Name: fmt.Sprintf("GetManagedObjects with %d timers, reply received whole (%.1f MiB)",
		n, float64(size)/(1<<20)), Samples: raw}
	if n >= 10000 {
		gmoRow.Target, gmoRow.Met = "< 250 ms", median(raw) < 250*time.Millisecond
	}
	r.add(gmoRow)
	if err := managedCPU(e, r, n, section); err != nil {
		return err
	}
	if err := managedFlood(e, r, n, 20, section); err != nil {
		return err
	}
	if err := cliList(e, r, n, section); err != nil {
		return err
	}
	var decoded []time.Duration
	for i := 0; i < 10; i++ {
		took, err := timed(func() error {
			return e.conn.Object(busName, rootPath).Call("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Err
		})
		if err != nil {
			return err
		}
		decoded = append(decoded, took)
	}
	r.add(row{Section: section, Name: fmt.Sprintf("GetManagedObjects with %d timers, decoded by a godbus client", n), Samples: decoded})
	return startup(e, r, n, section)
}

// startup restarts the daemon over the n timers and measures the time to
// its name and its memory.
func startup(e *env, r *report, n int, section string) error {
	ctx := context.Background()
	if _, err := e.ns.Output(ctx, "systemctl", "stop", "snapm-timersd.service"); err != nil {
		return err
	}
	// Type=dbus: systemctl start returns once the daemon owns its name.
	took, err := timed(func() error {
		_, err := e.ns.Output(ctx, "systemctl", "start", "snapm-timersd.service")
		return err
	})
	if err != nil {
		return err
	}
	status, err := procFile(ctx, e, "snapm-timersd.service", "status")
	if err != nil {
		return err
	}
	rss := kib(status, "VmRSS:")
	startRow := row{Section: section, Name: fmt.Sprintf("daemon start-up to name with %d timers adopted", n), Total: took}
	rssRow := row{Section: section, Name: fmt.Sprintf("daemon RSS after start-up with %d timers", n), KiB: rss}
	if n >= 10000 {
		startRow.Target, startRow.Met = "< 3 s", took < 3*time.Second
		rssRow.Target, rssRow.Met = "< 64 MiB", rss < 64<<10
	}
	r.add(startRow)
	r.add(rssRow)
	return nil
}

// timeRaw times n calls of member on the daemon's root object to the last
// byte of each reply, without a client library decoding it: what a reply
// costs the daemon and the bus, apart from what it costs a client.
func timeRaw(address, iface, member string, n int) ([]time.Duration, int, error) {
	rc, err := rawbus.Dial(address)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	var d []time.Duration
	size := 0
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := rc.Send(busName, rootPath, iface, member, nil); err != nil {
			return nil, 0, err
		}
		reply, err := rc.Await()
		if err != nil {
			return nil, 0, err
		}
		if reply.Type != dbus.TypeMethodReply {
			return nil, 0, fmt.Errorf("%s.%s: %s", iface, member, reply.ErrorName)
		}
		d = append(d, time.Since(start))
		size = reply.Size
	}
	return d, size, nil
}

func kib(status, field string) int {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			v, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return v
		}
	}
	return 0
}

func targetFor(n int, how string) string {
	if n != 1000 {
		return ""
	}
	if how == "sequential" {
		return "< 10 s"
	}
	return "< 5 s"
}

func metFor(n int, total, bound time.Duration) bool { return n == 1000 && total < bound }
