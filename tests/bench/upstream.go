// snapm's own timer code beside the daemon: what a frontend gains by
// calling the daemon instead of snapm 0.7's Timer class, which writes the
// same drop-in (synced) and asks systemd itself.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// upstreamTarget is how many times faster than snapm's own timer code the
// daemon must create, enable and start fresh timers (issue 14's decision).
const upstreamTarget = 12

// upstreamDriver runs inside the namespace with the real snapm's venv: for
// each name on stdin it makes snapm-create@NAME.timer with snapm 0.7's own
// Timer class, timing enable() and start() (the class's constructor, which
// parses the calendar, is left out) and writing the seconds they took.
const upstreamDriver = `import sys, time
from snapm.manager._timers import Timer, TimerType
for line in sys.stdin:
    t = Timer(TimerType.CREATE, line.strip(), "daily")
    start = time.perf_counter()
    t.enable()
    t.start()
    print(repr(time.perf_counter() - start), flush=True)
`

// upstream times count fresh create timers made, enabled and started by
// the daemon in one CreateTimerWithFlags(ENABLE|START) call each, in turn
// with as many made by snapm 0.7's Timer class (enable(), start()), in the
// same namespace. The schedule file the daemon needs is written before each
// of its calls, untimed: snapm's Timer writes none. After each of snapm's
// timers the daemon settles: snapm's Reload and new unit are someone
// else's changes it mirrors, which would otherwise bill its next turn.
// Without the real snapm's archives the rows are left out.
func upstream(e *env, r *report, section string, count int) error {
	daemon, snapmSide, err := upstreamPairs(e, count)
	if errors.Is(err, sysns.ErrNoInterop) {
		progress("no rows against snapm's own timer code: %v", err)
		return nil
	}
	if err != nil {
		return err
	}
	upstreamRows(r, section, daemon, snapmSide)
	return nil
}

// upstreamPairs measures count pairs (see upstream): the daemon's calls
// and snapm's enable()+start(), in turn.
func upstreamPairs(e *env, count int) (daemon, snapmSide []time.Duration, err error) {
	cache, err := sysns.DefaultSnapmCache()
	if err != nil {
		return nil, nil, err
	}
	snapm, err := sysns.PrepareSnapm(sysns.InteropDir(), cache)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	py := e.ns.Command(ctx, filepath.Join(snapm.Venv, "bin", "python"), "-c", upstreamDriver)
	var stderr strings.Builder
	py.Stderr = &stderr
	in, err := py.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := py.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := py.Start(); err != nil {
		return nil, nil, err
	}
	lines := bufio.NewScanner(out)
	driverErr := func(err error) ([]time.Duration, []time.Duration, error) {
		in.Close()
		cancel()
		py.Wait()
		return nil, nil, fmt.Errorf("snapm's Timer driver: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("vs%d", i)
		if err := e.ns.WriteSchedule(name, "daily"); err != nil {
			return driverErr(err)
		}
		took, err := timed(func() error {
			return e.call(rootPath, managerIf+".CreateTimerWithFlags", "create", name, "daily", flagEnable|flagStart).Err
		})
		if err != nil {
			return driverErr(fmt.Errorf("CreateTimerWithFlags %s: %w", name, err))
		}
		daemon = append(daemon, took)
		if _, err := fmt.Fprintf(in, "py%d\n", i); err != nil {
			return driverErr(err)
		}
		if !lines.Scan() {
			return driverErr(errors.Join(io.ErrUnexpectedEOF, lines.Err()))
		}
		secs, err := strconv.ParseFloat(lines.Text(), 64)
		if err != nil {
			return driverErr(err)
		}
		snapmSide = append(snapmSide, time.Duration(secs*float64(time.Second)))
		time.Sleep(settle)
	}
	in.Close()
	if err := py.Wait(); err != nil {
		return nil, nil, fmt.Errorf("snapm's Timer driver: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return daemon, snapmSide, nil
}

// upstreamRows reports the pairs: each side, and the ratio of their
// totals against the target.
func upstreamRows(r *report, section string, daemon, snapmSide []time.Duration) {
	count := len(daemon)
	sum := func(d []time.Duration) (t time.Duration) {
		for _, x := range d {
			t += x
		}
		return t
	}
	times := ratio(sum(snapmSide), sum(daemon))
	r.add(row{Section: section, Name: fmt.Sprintf("%d fresh create timers, enable+start: snapm 0.7's own Timer class (enable(), start())", count),
		Samples: snapmSide, Total: sum(snapmSide), Count: count})
	r.add(row{Section: section, Name: "the same through the daemon, one CreateTimerWithFlags(ENABLE|START) each, in turn with snapm's",
		Samples: daemon, Total: sum(daemon), Count: count})
	// The target is on the totals, as the goal says; the medians' ratio
	// beside it shows how much a few slow turns on a busy machine weigh.
	r.add(row{Section: section, Name: fmt.Sprintf("daemon vs snapm's own code (totals): %.1fx faster (medians: %.1fx)",
		times, ratio(median(snapmSide), median(daemon))),
		Target: fmt.Sprintf(">= %dx", upstreamTarget), Met: times >= upstreamTarget})
}
