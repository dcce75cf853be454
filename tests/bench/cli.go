// The runs of programs inside the namespace: `snapm-timersctl list` beside
// `systemctl list-timers` over the same timers, and root's Stop+Start under
// a flood of unprivileged previews, with the flooding helper's own side.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// installInNS puts a program into the namespace's private /usr/libexec,
// where every uid inside can run it, and returns its path inside.
func installInNS(e *env, name string, data []byte) (string, error) {
	if err := os.WriteFile(filepath.Join(e.ns.Dir, "libexec", name), data, 0o755); err != nil {
		return "", err
	}
	return "/usr/libexec/" + name, nil
}

// cliList: `snapm-timersctl list` over the n running timers beside
// `systemctl list-timers` over the same units, process start to exit,
// both inside the namespace, alternating.
func cliList(e *env, r *report, n int, section string) error {
	out := filepath.Join(e.ns.Dir, "libexec", "snapm-timersctl")
	build := exec.Command("go", "build", "-o", out, "./cmd/snapm-timersctl")
	build.Dir = sysns.RepoRoot()
	if msg, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building snapm-timersctl: %v: %s", err, msg)
	}
	commands := map[string][]string{
		"ours":    {"/usr/libexec/snapm-timersctl", "list", "--no-pager"},
		"systemd": {"systemctl", "list-timers", "--no-pager", "snapm-*.timer"},
	}
	d := map[string][]time.Duration{}
	for i := 0; i < 10; i++ {
		for _, who := range []string{"ours", "systemd"} {
			var lines int
			took, err := timed(func() error {
				out, err := e.ns.Output(context.Background(), commands[who]...)
				lines = strings.Count(out, "\n")
				return err
			})
			if err != nil {
				return err
			}
			if lines < n {
				return fmt.Errorf("%s listed %d lines for %d timers", commands[who][0], lines, n)
			}
			d[who] = append(d[who], took)
		}
	}
	r.add(row{Section: section, Name: fmt.Sprintf("systemctl list-timers 'snapm-*.timer' over the %d timers (process start to exit)", n), Samples: d["systemd"]})
	r.add(row{Section: section, Name: fmt.Sprintf("snapm-timersctl list over the same %d timers", n), Samples: d["ours"],
		Target: "faster than systemctl list-timers", Met: median(d["ours"]) < median(d["systemd"])})
	return nil
}

// The flood of previews issue 9 measured: four unprivileged connections,
// each with 100 previews of the costliest expression known in flight.
const (
	floodExpr        = "Sat *-*~07/1"
	floodIterations  = 1000
	floodConnections = 4
	floodInFlight    = 100
)

// previewFlood: root's Stop+Start of a running timer, quiet and under the
// flood, in the same namespace.
func previewFlood(e *env, r *report, samples int, floor time.Duration) error {
	path, err := e.create("create", "flooded", "hourly")
	if err != nil {
		return err
	}
	if err := enableStart(e, path); err != nil {
		return err
	}
	stopStart := func() ([]time.Duration, error) {
		var d []time.Duration
		for i := 0; i < samples; i++ {
			took, err := timed(func() error {
				if err := e.must(path, timerIf+".Stop"); err != nil {
					return err
				}
				return e.must(path, timerIf+".Start")
			})
			if err != nil {
				return nil, err
			}
			d = append(d, took)
		}
		return d, nil
	}
	quiet, err := stopStart()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	bin, err := installInNS(e, "snapm-bench", data)
	if err != nil {
		return err
	}
	type helper struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Reader
	}
	var helpers []helper
	defer func() {
		for _, h := range helpers {
			h.stdin.Close()
			h.cmd.Wait() //nolint:errcheck // a helper's end is read from its output
		}
	}()
	for i := 0; i < floodConnections; i++ {
		cmd := e.ns.CommandAs(context.Background(), 65534, bin, "-flood", fmt.Sprint(floodInFlight))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		h := helper{cmd, stdin, bufio.NewReader(stdout)}
		helpers = append(helpers, h)
		// "flooding" once its previews are in flight.
		if line, err := h.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "flooding" {
			return fmt.Errorf("flood helper: %q %v", line, err)
		}
	}
	flooded, err := stopStart()
	if err != nil {
		return err
	}
	var answered, overBudget, busy, failed int
	for _, h := range helpers {
		h.stdin.Close()
		var a, o, b, f int
		if line, _ := h.out.ReadString('\n'); line != "" {
			fmt.Sscan(line, &a, &o, &b, &f) //nolint:errcheck // a short line counts as zeros
		}
		answered, overBudget, busy, failed = answered+a, overBudget+o, busy+b, failed+f
	}
	// Quiet again: on a shared machine the load drifts, so the baseline
	// is measured on both sides of the flood.
	after, err := stopStart()
	if err != nil {
		return err
	}
	quiet = append(quiet, after...)
	if failed > 0 {
		return fmt.Errorf("%d previews failed otherwise than refused as over budget or too many", failed)
	}
	section := "Fairness: previews from unprivileged connections"
	r.add(row{Section: section, Name: "root Stop+Start of a running timer, quiet (before and after the flood)", Samples: quiet, Baseline: floor})
	r.add(row{Section: section, Name: fmt.Sprintf("root Stop+Start under %dx%d previews of '%s' x%d from uid 65534 (%d answered, %d over budget, %d refused as too many waiting)",
		floodConnections, floodInFlight, floodExpr, floodIterations, answered, overBudget, busy), Samples: flooded, Baseline: floor,
		Target: "median <= 2x quiet", Met: median(flooded) <= 2*median(quiet)})
	return nil
}

// floodPreviews is the helper's side: inFlight previews on one connection
// to the system bus, each sent again as soon as it is answered, until
// stdin closes; then "answered over-budget too-many failed" on stdout.
func floodPreviews(inFlight int) int {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		return 1
	}
	defer conn.Close()
	obj := conn.Object(busName, rootPath)
	var answered, overBudget, busy, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < inFlight; i++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := obj.Call(managerIf+".ParseCalendar", 0, floodExpr, uint32(floodIterations)).Err
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
