// Command bench measures snapm-timersd on a real systemd booted in a private
// namespace and prints a Markdown table (and writes it, with a JSON copy, if
// asked). Every figure comes with the baselines measured in the same run:
// the bus floor (GetId, answered by dbus-daemon itself), a call to any
// service (Peer.Ping, answered by the daemon's D-Bus library) and a
// property Get from systemd. Fresh timers made through the daemon are also
// measured in turn with as many made by snapm 0.7's own Timer class (the
// real snapm, from its archives; see tests/sysns/snapm.go), in one
// namespace: -upstream says how many.
//
//	go run ./tests/bench -n 100,1000,10000 -md bench.md -json bench.json
//
// With -concurrent-only it runs only the many-clients run of each scale,
// with the rows measured after it (GetManagedObjects, start-up, memory):
// the 10,000-timer figures of those in five minutes rather than ten.
//
// With -cli-only it runs only `snapm-timersctl list` beside `systemctl
// list-timers` at each scale:
//
//	go run ./tests/bench -n 1000 -cli-only
//
// With -against REV it measures only the side-by-side pairs (one fresh
// timer created, enabled and started, in three calls and in one, beside
// systemd alone, and the fresh timers beside snapm's own code), in
// namespaces that take turns between REV's daemon and this tree's, and
// reports both:
//
//	go run ./tests/bench -n 100 -against HEAD~3 -rounds 4
//
// Each scale runs in namespaces of its own, so no run sees another's timers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
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
	concurrentOnly := flag.Bool("concurrent-only", false, "only the runs from many clients, with their GetManagedObjects, start-up and memory rows")
	mdPath := flag.String("md", "", "also write the Markdown table here")
	jsonPath := flag.String("json", "", "write the results as JSON here")
	rev := flag.String("against", "", "measure the side-by-side pairs of this git revision and of the tree in turn, and nothing else")
	rounds := flag.Int("rounds", 4, "with -against, namespaces of each side, in turn")
	churnUnits := flag.Int("churn", 1000, "unrelated transient units to start and end beside 20 running timers (0: none)")
	upstreamTimers := flag.Int("upstream", 60, "fresh timers made by the daemon in turn with as many by snapm 0.7's own Timer class (0: none)")
	cliOnly := flag.Bool("cli-only", false, "only snapm-timersctl list beside systemctl list-timers over each scale's running timers")
	smoke := flag.Bool("smoke", false, "run each kind of row once, tiny, in one namespace, so that the bench cannot rot; measures nothing")
	flood := flag.Int("flood", 0, "internal: keep this many calls in flight on the system bus until stdin closes")
	floodKind := flag.String("flood-kind", floodPreview, "internal: with -flood, the calls: "+floodPreview+" or "+floodManaged)
	flag.Parse()
	if *flood > 0 {
		os.Exit(floodCalls(*floodKind, *flood))
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
	r := &report{Started: time.Now().UTC(), Machine: machine(), Args: strings.Join(os.Args[1:], " "),
		Samples: *samples, Clients: *clients}
	do := func() error {
		return withProject(func(opts sysns.Options) error {
			return run(r, opts, ns, *samples, *clients, *churnUnits, *upstreamTimers, *concurrentOnly)
		})
	}
	if *cliOnly {
		r.Samples = 0 // its rows have samples of their own
		do = func() error {
			return withProject(func(opts sysns.Options) error { return cliScales(r, opts, ns, *clients) })
		}
	}
	if *smoke {
		r.Samples = 0
		do = func() error { return withProject(func(opts sysns.Options) error { return smokeRun(r, opts) }) }
	}
	if *rev != "" {
		r.Samples = 0 // its rows are pairs, 20 a namespace
		do = func() error {
			for _, n := range ns {
				if err := against(r, *rev, n, *rounds, 20, *churnUnits, *upstreamTimers); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := do(); err != nil {
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

// withProject runs fn with the options of namespaces running this tree's
// daemon, built in a directory removed after.
func withProject(fn func(opts sysns.Options) error) error {
	tmp, err := os.MkdirTemp("", "snapm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		return err
	}
	return fn(opts)
}

func run(r *report, opts sysns.Options, scales []int, samples, clients, churnUnits, upstreamTimers int, concurrentOnly bool) error {
	if !concurrentOnly {
		if err := withNS(opts, func(e *env) error { return oneTimer(e, r, samples) }); err != nil {
			return err
		}
	}
	if upstreamTimers > 0 {
		progress("%d fresh timers beside snapm's own timer code", upstreamTimers)
		section := "snapm 0.7's own timer code beside the daemon"
		if err := withNS(opts, func(e *env) error { return upstream(e, r, section, upstreamTimers) }); err != nil {
			return err
		}
	}
	if churnUnits > 0 {
		progress("unrelated unit churn, %d units", churnUnits)
		if err := withNS(opts, func(e *env) error { return churn(e, r, "unrelated unit churn", churnUnits) }); err != nil {
			return err
		}
	}
	for _, n := range scales {
		if !concurrentOnly {
			progress("N=%d, sequential", n)
			if err := withNS(opts, func(e *env) error { return sequential(e, r, n) }); err != nil {
				return err
			}
			if err := sequentialFresh(opts, r, n); err != nil {
				return err
			}
		}
		progress("N=%d, %d clients", n, clients)
		if err := withNS(opts, func(e *env) error { return concurrent(e, r, n, clients) }); err != nil {
			return err
		}
	}
	return nil
}

// smokeRun runs the rows of the runs at scale, the churn, the pairs
// beside systemd alone and those beside snapm's own timer code, over 20
// timers, in one namespace.
func smokeRun(r *report, opts sysns.Options) error {
	return withNS(opts, func(e *env) error {
		if err := churn(e, r, "smoke", 20); err != nil {
			return err
		}
		if err := sideBySide(e, r, "smoke", 2); err != nil {
			return err
		}
		if err := upstream(e, r, "smoke", 2); err != nil {
			return err
		}
		return concurrent(e, r, 20, 2)
	})
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

// create makes a timer through CreateTimer. Every create writes the
// schedule's file first (a write of a few hundred bytes, not synced): the
// daemon may refuse a name snapm has no schedule for. spec is the
// schedule's calendar, which a gc timer does not run on (see timerSpec).
func (e *env) create(typ, name, spec string) (dbus.ObjectPath, error) {
	if err := e.ns.WriteSchedule(name, spec); err != nil {
		return "", err
	}
	return e.createTimer(typ, name, spec)
}

// createTimer makes a timer of a schedule whose file is written.
func (e *env) createTimer(typ, name, spec string) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := e.call(rootPath, managerIf+".CreateTimer", typ, name, timerSpec(typ, spec)).Store(&path)
	return path, err
}

// timerSpec is the calendar a timer of typ runs on for a schedule on
// spec: the daemon refuses any but snapm's fixed one for a gc timer.
func timerSpec(typ, spec string) string {
	if typ == "gc" {
		return schedule.GCCalendarSpec
	}
	return spec
}

// CreateTimerWithFlags' flags.
const (
	flagEnable = uint64(0x1)
	flagStart  = uint64(0x2)
)

func (e *env) createWithFlags(typ, name, spec string, flags uint64) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	if err := e.ns.WriteSchedule(name, spec); err != nil {
		return "", err
	}
	err := e.call(rootPath, managerIf+".CreateTimerWithFlags", typ, name, timerSpec(typ, spec), flags).Store(&path)
	return path, err
}

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}
