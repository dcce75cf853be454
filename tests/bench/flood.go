// Floods from unprivileged connections: helper processes, run as uid 65534
// inside the namespace, each keeping calls in flight until told to stop,
// and what root's calls cost meanwhile.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// The kinds of flood.
const (
	floodPreview = "preview" // ParseCalendar of floodExpr
	floodManaged = "managed" // GetManagedObjects
)

type flood struct {
	helpers []floodHelper
}

type floodHelper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startFlood starts conns helpers of kind with inFlight calls each, and
// returns once all of them are in flight.
func startFlood(e *env, kind string, conns, inFlight int) (*flood, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return nil, err
	}
	bin, err := installInNS(e, "snapm-bench", data)
	if err != nil {
		return nil, err
	}
	f := &flood{}
	for range conns {
		cmd := e.ns.CommandAs(context.Background(), 65534, bin, "-flood", fmt.Sprint(inFlight), "-flood-kind", kind)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			f.stop()
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			f.stop()
			return nil, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			f.stop()
			return nil, err
		}
		h := floodHelper{cmd, stdin, bufio.NewReader(stdout)}
		f.helpers = append(f.helpers, h)
		// "flooding" once its calls are in flight.
		if line, err := h.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "flooding" {
			f.stop()
			return nil, fmt.Errorf("flood helper: %q %v", line, err)
		}
	}
	return f, nil
}

// stop ends the flood and returns the helpers' counts, summed: answered,
// over budget, refused as too many, failed otherwise.
func (f *flood) stop() [4]int {
	var sum [4]int
	for _, h := range f.helpers {
		h.stdin.Close()
		var c [4]int
		if line, _ := h.out.ReadString('\n'); line != "" {
			fmt.Sscan(line, &c[0], &c[1], &c[2], &c[3]) //nolint:errcheck // a short line counts as zeros
		}
		h.cmd.Wait() //nolint:errcheck // a helper's end is read from its output
		for i := range sum {
			sum[i] += c[i]
		}
	}
	f.helpers = nil
	return sum
}

// floodCalls is the helper's side: inFlight calls of kind on one
// connection to the system bus, each sent again as soon as it is answered,
// until stdin closes; then "answered over-budget too-many failed" on
// stdout.
func floodCalls(kind string, inFlight int) int {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		return 1
	}
	defer conn.Close()
	obj := conn.Object(busName, rootPath)
	call := func() error { return obj.Call(managerIf+".ParseCalendar", 0, floodExpr, uint32(floodIterations)).Err }
	if kind == floodManaged {
		// Read whole, not decoded: a client that decodes slowly floods less.
		call = func() error {
			return obj.Call("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Err
		}
	}
	var answered, overBudget, busy, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := call()
				var derr dbus.Error
				switch {
				case err == nil:
					answered.Add(1)
				case errors.As(err, &derr) && derr.Name == "com.redhat.Snapm.Timers.Error.InvalidArgument" &&
					strings.Contains(fmt.Sprint(derr.Body...), "budget"):
					overBudget.Add(1)
				case errors.As(err, &derr) && derr.Name == "com.redhat.Snapm.Timers.Error.InvalidArgument" &&
					strings.Contains(fmt.Sprint(derr.Body...), "too many"):
					busy.Add(1)
				default:
					failed.Add(1)
				}
			}
		})
	}
	fmt.Println("flooding")
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // any end of stdin stops the flood
	close(stop)
	wg.Wait()
	fmt.Println(answered.Load(), overBudget.Load(), busy.Load(), failed.Load())
	return 0
}

// The GetManagedObjects flood of issue 26: eight unprivileged
// connections, four calls in flight on each.
const (
	managedConnections = 8
	managedInFlight    = 4
)

// managedFlood: root's create+enable+start of a fresh timer (one call)
// with n timers, quiet (before and after) and under a flood of
// GetManagedObjects from uid 65534, and the daemon's memory after it.
func managedFlood(e *env, r *report, n, samples int, section string) error {
	next := 0
	createStart := func() ([]time.Duration, error) {
		var d []time.Duration
		for range samples {
			name := fmt.Sprintf("root%d", next)
			next++
			took, err := timed(func() error {
				_, err := e.createWithFlags("gc", name, "daily", flagEnable|flagStart)
				return err
			})
			if err != nil {
				return nil, err
			}
			d = append(d, took)
		}
		return d, nil
	}
	quiet, err := createStart()
	if err != nil {
		return err
	}
	// The peak from here on is the flood's, not the timers' creation's;
	// it starts from what the daemon holds now.
	if _, err := e.ns.Output(context.Background(), "sh", "-c",
		"echo 5 > /proc/$(systemctl show -P MainPID snapm-timersd.service)/clear_refs"); err != nil {
		return err
	}
	before, err := procFile(context.Background(), e, "snapm-timersd.service", "status")
	if err != nil {
		return err
	}
	f, err := startFlood(e, floodManaged, managedConnections, managedInFlight)
	if err != nil {
		return err
	}
	flooded, err := createStart()
	counts := f.stop()
	if err != nil {
		return err
	}
	after, err := createStart()
	if err != nil {
		return err
	}
	quiet = append(quiet, after...)
	if counts[3] > 0 {
		return fmt.Errorf("%d of the flood's GetManagedObjects failed", counts[3])
	}
	status, err := procFile(context.Background(), e, "snapm-timersd.service", "status")
	if err != nil {
		return err
	}
	p99 := percentile(flooded, 99)
	r.add(row{Section: section, Name: "root create+enable+start of a fresh timer (one call), quiet (before and after the flood)", Samples: quiet})
	r.add(row{Section: section, Name: fmt.Sprintf("the same under %dx%d GetManagedObjects from uid 65534 (%d answered)",
		managedConnections, managedInFlight, counts[0]), Samples: flooded,
		Target: "p99 <= 2x quiet p99", Met: p99 <= 2*percentile(quiet, 99)})
	r.add(row{Section: section, Name: "daemon's RSS before the flood", KiB: kib(before, "VmRSS:")})
	hwm := kib(status, "VmHWM:")
	r.add(row{Section: section, Name: "daemon's peak RSS (VmHWM) during the flood", KiB: hwm, Target: "< 128 MiB", Met: hwm < 128<<10})
	return nil
}

// managedCPU is the daemon's CPU per GetManagedObjects over n timers, from
// its CPU over calls in a row, each reply read whole.
func managedCPU(e *env, r *report, n int, section string) error {
	const calls = 20
	before, err := daemonCPU(e)
	if err != nil {
		return err
	}
	if _, _, err := timeRaw(e.ns.BusAddress(), "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", calls); err != nil {
		return err
	}
	after, err := daemonCPU(e)
	if err != nil {
		return err
	}
	x := row{Section: section, Name: fmt.Sprintf("daemon CPU per GetManagedObjects with %d timers (%d calls in a row)", n, calls),
		Total: (after - before) / calls}
	switch {
	case n >= 10000:
		x.Target, x.Met = "<= 50 ms", x.Total <= 50*time.Millisecond
	case n >= 1000:
		x.Target, x.Met = "<= 5 ms", x.Total <= 5*time.Millisecond
	}
	r.add(x)
	return nil
}
