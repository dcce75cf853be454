// Command bench measures snapm-timersd on a real systemd booted in a private
// namespace and prints a Markdown table (and writes it, with a JSON copy, if
// asked). Every figure comes with the baselines measured in the same run:
// the bus floor (GetId, answered by dbus-daemon itself), a call to any
// service (Peer.Ping, answered by the daemon's D-Bus library) and a
// property Get from systemd.
//
//	go run ./tests/bench -n 100,1000,10000 -md bench.md -json bench.json
//
// Each scale runs in namespaces of its own, so no run sees another's timers.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/tests/rawbus"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

const (
	busName   = "com.redhat.Snapm.Timers"
	rootPath  = dbus.ObjectPath("/com/redhat/Snapm/Timers")
	managerIf = "com.redhat.Snapm.Timers.Manager"
	timerIf   = "com.redhat.Snapm.Timers.Timer"
	sdName    = "org.freedesktop.systemd1"
	sdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	sdManager = "org.freedesktop.systemd1.Manager"
)

func main() {
	scales := flag.String("n", "100,1000,10000", "timer counts to enable and start, comma-separated")
	samples := flag.Int("samples", 100, "samples of each one-timer figure")
	clients := flag.Int("clients", 16, "concurrent clients for the concurrent runs")
	mdPath := flag.String("md", "", "also write the Markdown table here")
	jsonPath := flag.String("json", "", "write the results as JSON here")
	flood := flag.Int("flood", 0, "internal: keep this many previews in flight on the system bus until stdin closes")
	flag.Parse()
	if *flood > 0 {
		os.Exit(floodPreviews(*flood))
	}
	var ns []int
	for _, f := range strings.Split(*scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 20 {
			fmt.Fprintf(os.Stderr, "bench: -n wants counts of at least 20, got %q\n", f)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	r := &report{Started: time.Now().UTC(), Samples: *samples, Clients: *clients}
	if err := run(r, ns, *samples, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	md := r.markdown()
	fmt.Print(md)
	if *mdPath != "" {
		if err := os.WriteFile(*mdPath, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *jsonPath != "" {
		data, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(*jsonPath, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func run(r *report, scales []int, samples, clients int) error {
	tmp, err := os.MkdirTemp("", "snapm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		return err
	}
	if err := withNS(opts, func(e *env) error { return oneTimer(e, r, samples) }); err != nil {
		return err
	}
	for _, n := range scales {
		progress("N=%d, sequential", n)
		if err := withNS(opts, func(e *env) error { return sequential(e, r, n) }); err != nil {
			return err
		}
		progress("N=%d, %d clients", n, clients)
		if err := withNS(opts, func(e *env) error { return concurrent(e, r, n, clients) }); err != nil {
			return err
		}
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// env is one booted namespace with the daemon running and a client.
type env struct {
	ns      *sysns.NS
	conn    *dbus.Conn
	reloads *sysns.ReloadCounter
}

func withNS(opts sysns.Options, fn func(e *env) error) error {
	ns, err := sysns.Boot(opts)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	conn, err := connect(ns)
	if err != nil {
		return err
	}
	defer conn.Close()
	e := &env{ns: ns, conn: conn}
	if err := installTwin(e); err != nil {
		return err
	}
	// The first call activates the daemon, as on a real system.
	if err := e.call(rootPath, managerIf+".ListTimers").Err; err != nil {
		return fmt.Errorf("activating the daemon: %w", err)
	}
	if e.reloads, err = sysns.CountReloads(conn); err != nil {
		return err
	}
	return fn(e)
}

func connect(ns *sysns.NS) (*dbus.Conn, error) {
	return dbus.Connect(ns.BusAddress(), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
}

func (e *env) call(path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return e.conn.Object(busName, path).CallWithContext(ctx, method, 0, args...)
}

func (e *env) must(path dbus.ObjectPath, method string, args ...any) error {
	if err := e.call(path, method, args...).Err; err != nil {
		return fmt.Errorf("%s on %s: %w", method, path, err)
	}
	return nil
}

func (e *env) create(typ, name, spec string) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := e.call(rootPath, managerIf+".CreateTimer", typ, name, spec).Store(&path)
	return path, err
}

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// oneTimer: the life of one fresh timer, step by step, beside the floors.
func oneTimer(e *env, r *report, samples int) error {
	steps := []string{"Enable", "Start", "Status read", "Stop", "Disable"}
	d := map[string][]time.Duration{}
	bus := e.conn.BusObject()
	sd := e.conn.Object(sdName, sdPath)
	daemon := e.conn.Object(busName, rootPath)
	for i := 0; i < samples; i++ {
		var path dbus.ObjectPath
		took, err := timed(func() (err error) {
			path, err = e.create("create", fmt.Sprintf("one%d", i), "hourly")
			return err
		})
		if err != nil {
			return err
		}
		d["CreateTimer"] = append(d["CreateTimer"], took)
		floors := []struct {
			name string
			fn   func() error
		}{
			{"bus floor: GetId", func() error { return bus.Call("org.freedesktop.DBus.GetId", 0).Err }},
			{"service floor: Peer.Ping to the daemon", func() error { return daemon.Call("org.freedesktop.DBus.Peer.Ping", 0).Err }},
			{"systemd property Get", func() error { _, err := sd.GetProperty(sdManager + ".Version"); return err }},
		}
		for _, f := range floors {
			took, err := timed(f.fn)
			if err != nil {
				return err
			}
			d[f.name] = append(d[f.name], took)
		}
		for _, step := range steps {
			took, err := timed(func() error {
				if step == "Status read" {
					_, err := e.conn.Object(busName, path).GetProperty(timerIf + ".Status")
					return err
				}
				return e.must(path, timerIf+"."+step)
			})
			if err != nil {
				return err
			}
			d[step] = append(d[step], took)
		}
		if err := e.must(rootPath, managerIf+".RemoveTimer", path); err != nil {
			return err
		}
	}
	floor := median(d["bus floor: GetId"])
	for _, name := range []string{"bus floor: GetId", "service floor: Peer.Ping to the daemon", "systemd property Get"} {
		r.add(row{Section: "Baselines", Name: name, Samples: d[name], Baseline: floor})
	}
	r.add(row{Section: "One fresh timer", Name: "Status read (property Get)", Samples: d["Status read"], Baseline: floor,
		Target: "<= 1.5x bus floor", Met: ratio(median(d["Status read"]), floor) <= 1.5})
	for _, step := range []string{"CreateTimer", "Enable", "Start", "Stop", "Disable"} {
		r.add(row{Section: "One fresh timer", Name: step, Samples: d[step], Baseline: floor})
	}
	both := make([]time.Duration, len(d["Enable"]))
	for i := range both {
		both[i] = d["Enable"][i] + d["Start"][i]
	}
	r.add(row{Section: "One fresh timer", Name: "Enable + Start", Samples: both, Baseline: floor,
		Target: "<= 10.3 ms (10x faster than the reference's ~103 ms)", Met: median(both) <= 10300*time.Microsecond})
	if err := outsideFlips(e, r, samples, floor); err != nil {
		return err
	}
	return previewFlood(e, r, samples, floor)
}

// outsideFlips: systemd stops and starts a running timer for someone
// else; how long until the daemon's PropertiesChanged says so.
func outsideFlips(e *env, r *report, samples int, floor time.Duration) error {
	path, err := e.create("gc", "flipped", "hourly")
	if err != nil {
		return err
	}
	if err := e.must(path, timerIf+".Enable"); err != nil {
		return err
	}
	if err := e.must(path, timerIf+".Start"); err != nil {
		return err
	}
	// Another client of systemd: the admin's systemctl, without the cost
	// of starting a process.
	admin, err := connect(e.ns)
	if err != nil {
		return err
	}
	defer admin.Close()
	sd := admin.Object(sdName, sdPath)
	if err := e.conn.AddMatchSignal(dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(path),
		dbus.WithMatchMember("PropertiesChanged")); err != nil {
		return err
	}
	ch := make(chan *dbus.Signal, 64)
	e.conn.Signal(ch)
	defer e.conn.RemoveSignal(ch)
	var lat []time.Duration
	for i := 0; i < samples; i++ {
		for _, flip := range []struct {
			method  string
			running bool
		}{{"StopUnit", false}, {"StartUnit", true}} {
			start := time.Now()
			if err := sd.Call(sdManager+"."+flip.method, 0, "snapm-gc@flipped.timer", "replace").Err; err != nil {
				return err
			}
			if err := waitRunning(ch, flip.running); err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
		}
	}
	r.add(row{Section: "One fresh timer", Name: "outside StopUnit/StartUnit -> PropertiesChanged(Running)", Samples: lat,
		Baseline: floor, Target: "p99 < 50 ms", Met: percentile(lat, 99) < 50*time.Millisecond})
	return nil
}

func waitRunning(ch <-chan *dbus.Signal, running bool) error {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case sig := <-ch:
			if len(sig.Body) < 2 {
				continue
			}
			changed, _ := sig.Body[1].(map[string]dbus.Variant)
			if v, ok := changed["Running"]; ok && v.Value() == running {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("no PropertiesChanged with Running=%t within 10s", running)
		}
	}
}

// createMany makes n disabled timers from clients connections at once;
// creation is not what is measured.
func createMany(e *env, n, clients int) ([]dbus.ObjectPath, error) {
	paths := make([]dbus.ObjectPath, n)
	err := parallel(e, n, clients, func(c *env, i int) error {
		var err error
		paths[i], err = c.create([]string{"create", "gc"}[i%2], fmt.Sprintf("t%05d", i), "daily")
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

// outsideUnitFiles measures the daemon's CPU time for someone else's
// change of unit files (an EnableUnitFiles of a unit it does not manage),
// after which it re-reads every timer: the kernel's CPU accounting of the
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
	r.add(row{Section: section, Name: fmt.Sprintf("daemon CPU for an outside change of unit files (re-reads the %d timers)", n),
		Total: (after - before) / changes, Count: 1})
	return nil
}

// daemonCPU is the daemon's user and system CPU time so far.
func daemonCPU(e *env) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pid, err := e.ns.Output(ctx, "systemctl", "show", "-P", "MainPID", "snapm-timersd.service")
	if err != nil {
		return 0, err
	}
	stat, err := e.ns.Output(ctx, "cat", "/proc/"+strings.TrimSpace(pid)+"/stat")
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
			return 0, fmt.Errorf("daemon's /proc stat %q: %w", stat, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// systemdAloneBoth is systemdAlone for 20 timers on the template alone and
// for 20 that each get their drop-in first (not timed), as the daemon's
// timers do: a new directory in /etc/systemd/system makes systemd re-read
// its unit directories at the next load.
func systemdAloneBoth(e *env, tag string) (plain, withDropIns []time.Duration, err error) {
	if plain, err = systemdAlone(e, tag, 20); err != nil {
		return nil, nil, err
	}
	withDropIns, err = timeSystemdAlone(e, tag+"-d", 20, func(unit string) error {
		return dropin.Write(e.ns.UnitDirPath(), unit, "daily")
	})
	return plain, withDropIns, err
}

// aloneUnit is a unit of the twin template (see installTwin), which the
// daemon does not manage.
func aloneUnit(tag string, i int) string { return fmt.Sprintf("%s@%s-%d.timer", twin, tag, i) }

// twin is a copy of snapm-gc@.timer and .service under a name the daemon
// leaves alone: systemd does the same work for its instances, and the
// daemon does none, where on snapm units it would mirror what the baseline
// does behind its back (adopting the new drop-ins, reading the states) and
// bill that to whichever side runs next.
const twin = "bench-alone"

func installTwin(e *env) error {
	for _, suffix := range []string{".timer", ".service"} {
		data, err := os.ReadFile(filepath.Join(sysns.RepoRoot(), "systemd", "snapm-gc@"+suffix))
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte("snapm-gc@"), []byte(twin+"@"))
		if err := os.WriteFile(e.ns.UnitDirPath(twin+"@"+suffix), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// systemdAlone times what enabling and starting a fresh timer costs
// systemd itself, asked directly (the template's own OnCalendar=), so
// that the daemon's cost can be told from systemd's.
func systemdAlone(e *env, tag string, count int) ([]time.Duration, error) {
	return timeSystemdAlone(e, tag, count, func(string) error { return nil })
}

// timeSystemdAlone times count fresh timers, each after prepare (untimed).
func timeSystemdAlone(e *env, tag string, count int, prepare func(unit string) error) ([]time.Duration, error) {
	sd, err := newDirect(e)
	if err != nil {
		return nil, err
	}
	defer sd.close()
	var d []time.Duration
	for i := 0; i < count; i++ {
		unit := aloneUnit(tag, i)
		if err := prepare(unit); err != nil {
			return nil, err
		}
		took, err := sd.enableStart(unit)
		if err != nil {
			return nil, err
		}
		d = append(d, took)
	}
	return d, nil
}

// direct is a client of systemd itself, subscribed to its job results.
type direct struct {
	conn *dbus.Conn
	sd   dbus.BusObject
	ch   chan *dbus.Signal
	done map[dbus.ObjectPath]bool
}

func newDirect(e *env) (*direct, error) {
	conn, err := connect(e.ns)
	if err != nil {
		return nil, err
	}
	d := &direct{conn: conn, sd: conn.Object(sdName, sdPath), ch: make(chan *dbus.Signal, 256), done: map[dbus.ObjectPath]bool{}}
	if err := conn.AddMatchSignal(dbus.WithMatchSender(sdName), dbus.WithMatchMember("JobRemoved")); err != nil {
		conn.Close()
		return nil, err
	}
	conn.Signal(d.ch)
	if err := d.sd.Call(sdManager+".Subscribe", 0).Err; err != nil {
		conn.Close()
		return nil, err
	}
	return d, nil
}

func (d *direct) close() { d.conn.Close() }

// enableStart times EnableUnitFiles + StartUnit of unit, to the end of
// the start job.
func (d *direct) enableStart(unit string) (time.Duration, error) {
	start := time.Now()
	if err := d.sd.Call(sdManager+".EnableUnitFiles", 0, []string{unit}, false, true).Err; err != nil {
		return 0, err
	}
	var job dbus.ObjectPath
	if err := d.sd.Call(sdManager+".StartUnit", 0, unit, "replace").Store(&job); err != nil {
		return 0, err
	}
	for !d.done[job] {
		select {
		case sig := <-d.ch:
			if p, ok := sig.Body[1].(dbus.ObjectPath); ok && sig.Name == sdManager+".JobRemoved" {
				d.done[p] = true
			}
		case <-time.After(30 * time.Second):
			return 0, fmt.Errorf("no JobRemoved for %s", unit)
		}
	}
	return time.Since(start), nil
}

// settle is long enough for the daemon to finish re-reading every timer
// after an outside change, at 1,000 timers on two busy cores.
const settle = 150 * time.Millisecond

// sideBySide times, in turns, CreateTimer+Enable+Start of a fresh timer
// through the daemon and EnableUnitFiles+StartUnit of a fresh timer whose
// drop-in was written beforehand (untimed) asked of systemd directly: the
// daemon's overhead is the difference of each pair, so that a busy moment
// weighs on both sides alike.
func sideBySide(e *env, r *report, section string, pairs int) error {
	sd, err := newDirect(e)
	if err != nil {
		return err
	}
	defer sd.close()
	var daemon, alone, overhead []time.Duration
	var creates, enables, starts []time.Duration
	for i := 0; i < pairs; i++ {
		var path dbus.ObjectPath
		c, err := timed(func() (err error) { path, err = e.create("gc", fmt.Sprintf("fresh%d", i), "daily"); return err })
		if err != nil {
			return err
		}
		en, err := timed(func() error { return e.must(path, timerIf+".Enable") })
		if err != nil {
			return err
		}
		st, err := timed(func() error { return e.must(path, timerIf+".Start") })
		if err != nil {
			return err
		}
		took := c + en + st
		creates, enables, starts = append(creates, c), append(enables, en), append(starts, st)
		unit := aloneUnit("pair", i)
		if err := dropin.Write(e.ns.UnitDirPath(), unit, "daily"); err != nil {
			return err
		}
		direct, err := sd.enableStart(unit)
		if err != nil {
			return err
		}
		// The baseline's EnableUnitFiles is someone else's change of unit
		// files to the daemon, which re-reads every timer for it (timed on
		// its own in the row "outside change of unit files"): let that
		// finish before the daemon's turn, which it would otherwise slow.
		time.Sleep(settle)
		daemon, alone, overhead = append(daemon, took), append(alone, direct), append(overhead, took-direct)
	}
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon", Samples: daemon})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its CreateTimer", Samples: creates})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its Enable", Samples: enables})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its Start", Samples: starts})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: systemd alone (EnableUnitFiles+StartUnit, drop-in written before)", Samples: alone})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon vs systemd alone (median of the pairs' differences)",
		Samples: overhead, Target: "<= 1.5 ms", Met: median(overhead) <= 1500*time.Microsecond})
	return nil
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
	start := time.Now()
	if err := parallel(e, n, clients, func(c *env, i int) error { return enableStart(c, paths[i]) }); err != nil {
		return err
	}
	total := time.Since(start)
	section := fmt.Sprintf("%d timers", n)
	r.add(row{Section: section, Name: fmt.Sprintf("enable+start all, %d clients", clients), Total: total, Count: n,
		Reloads: e.reloads.Count() - before, Target: targetFor(n, "concurrent"), Met: metFor(n, total, 5*time.Second)})

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
	pid, err := e.ns.Output(ctx, "systemctl", "show", "-P", "MainPID", "snapm-timersd.service")
	if err != nil {
		return err
	}
	status, err := e.ns.Output(ctx, "cat", "/proc/"+strings.TrimSpace(pid)+"/status")
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

// --- results ---

type row struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	// Samples are individual latencies; Total a whole run of Count items.
	Samples  []time.Duration `json:"-"`
	MedianMS float64         `json:"median_ms,omitempty"`
	P99MS    float64         `json:"p99_ms,omitempty"`
	N        int             `json:"samples,omitempty"`
	Total    time.Duration   `json:"-"`
	TotalMS  float64         `json:"total_ms,omitempty"`
	Count    int             `json:"count,omitempty"`
	Reloads  int             `json:"daemon_reloads"`
	KiB      int             `json:"kib,omitempty"`
	Baseline time.Duration   `json:"-"`
	Ratio    float64         `json:"ratio_to_bus_floor,omitempty"`
	Target   string          `json:"target,omitempty"`
	Met      bool            `json:"met,omitempty"`
}

type report struct {
	Started time.Time `json:"started"`
	Samples int       `json:"samples"`
	Clients int       `json:"clients"`
	Rows    []row     `json:"rows"`
}

func (r *report) add(x row) {
	if len(x.Samples) > 0 {
		x.N = len(x.Samples)
		x.MedianMS = ms(median(x.Samples))
		x.P99MS = ms(percentile(x.Samples, 99))
		if x.Baseline > 0 {
			x.Ratio = ratio(median(x.Samples), x.Baseline)
		}
	}
	x.TotalMS = ms(x.Total)
	r.Rows = append(r.Rows, x)
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snapm-timersd on systemd in a private namespace, %s; %d samples per one-timer figure\n",
		r.Started.Format(time.RFC3339), r.Samples)
	section := ""
	for _, x := range r.Rows {
		if x.Section != section {
			section = x.Section
			fmt.Fprintf(&b, "\n### %s\n\n| measure | median | p99 | x bus floor | total | reloads | memory | target |\n|---|---|---|---|---|---|---|---|\n", section)
		}
		cells := []string{x.Name, "", "", "", "", "", "", ""}
		if x.N > 0 {
			cells[1], cells[2] = fmtMS(x.MedianMS), fmtMS(x.P99MS)
		}
		if x.Ratio > 0 {
			cells[3] = fmt.Sprintf("%.2f", x.Ratio)
		}
		if x.Total > 0 {
			cells[4] = fmtMS(x.TotalMS)
			if x.Count > 0 {
				cells[4] += fmt.Sprintf(" (%.2f ms each)", x.TotalMS/float64(x.Count))
			}
			cells[5] = strconv.Itoa(x.Reloads)
		}
		if x.KiB > 0 {
			cells[6] = fmt.Sprintf("%.1f MiB", float64(x.KiB)/1024)
		}
		if x.Target != "" {
			verdict := "met"
			if !x.Met {
				verdict = "NOT met"
			}
			cells[7] = x.Target + ": " + verdict
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	return b.String()
}

func fmtMS(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.3f ms", v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
