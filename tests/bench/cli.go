// The runs of programs inside the namespace: `snapm-timersctl list` beside
// `systemctl list-timers` over the same timers, and root's Stop+Start under
// a flood of unprivileged previews (flood.go).

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	ctl, err := e.ns.BuildTool("./cmd/snapm-timersctl", "snapm-timersctl")
	if err != nil {
		return err
	}
	commands := map[string][]string{
		"ours":    {ctl, "list", "--no-pager"},
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
	flood, err := startFlood(e, floodPreview, floodConnections, floodInFlight)
	if err != nil {
		return err
	}
	flooded, err := stopStart()
	counts := flood.stop()
	if err != nil {
		return err
	}
	answered, overBudget, busy, failed := counts[0], counts[1], counts[2], counts[3]
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
