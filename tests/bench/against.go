// Another revision measured beside this tree: on a machine whose speed
// drifts by a quarter between runs, a change's effect is only seen with
// both measured in turn, namespace after namespace.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// against runs the side-by-side pairs (see sideBySide) over n timers in
// rounds, each round a namespace with rev's daemon, units and policy and
// then one with this tree's, and reports each side's pairs pooled. With
// churnUnits, each round also measures the churn of that many unrelated
// units (see churn) on each side, in namespaces of their own, and with
// upstreamTimers, that many fresh timers beside snapm's own timer code (see
// upstream), in a namespace of their own. rev must have
// CreateTimerWithFlags (81536c4 or later) and refuse no name that has a
// schedule file.
func against(r *report, rev string, n, rounds, pairs, churnUnits, upstreamTimers int) error {
	tmp, err := os.MkdirTemp("", "snapm-bench-against-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if err := export(rev, src); err != nil {
		return err
	}
	revOpts, err := sysns.ProjectOptionsAt(src, filepath.Join(tmp, "rev"))
	if err != nil {
		return fmt.Errorf("building %s: %w", rev, err)
	}
	treeOpts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		return err
	}
	sides := []struct {
		label string
		opts  sysns.Options
		rows  []row
		churn []row
		// upstream are the pairs beside snapm's own timer code, pooled.
		upstreamDaemon, upstreamSnapm []time.Duration
	}{{label: rev, opts: revOpts}, {label: "this tree", opts: treeOpts}}
	for round := 1; round <= rounds; round++ {
		for i := range sides {
			side := &sides[i]
			progress("against %s: round %d of %d, %s", rev, round, rounds, side.label)
			sub := &report{}
			err := withNS(side.opts, func(e *env) error {
				if _, err := createMany(e, n, 16); err != nil {
					return err
				}
				if err := sideBySide(e, sub, "", pairs); err != nil {
					return err
				}
				if err := managedCPU(e, sub, n, ""); err != nil {
					return err
				}
				return managedFlood(e, sub, n, pairs, "")
			})
			if err != nil {
				return fmt.Errorf("%s: %w", side.label, err)
			}
			side.rows = pool(side.rows, sub.Rows)
			if upstreamTimers > 0 {
				err := withNS(side.opts, func(e *env) error {
					daemon, snapm, err := upstreamPairs(e, upstreamTimers)
					if errors.Is(err, sysns.ErrNoInterop) {
						progress("no rows against snapm's own timer code: %v", err)
						upstreamTimers = 0
						return nil
					}
					side.upstreamDaemon = append(side.upstreamDaemon, daemon...)
					side.upstreamSnapm = append(side.upstreamSnapm, snapm...)
					return err
				})
				if err != nil {
					return fmt.Errorf("%s: %w", side.label, err)
				}
			}
			if churnUnits == 0 {
				continue
			}
			sub = &report{}
			section := fmt.Sprintf("unrelated unit churn, %s (round %d)", side.label, round)
			if err := withNS(side.opts, func(e *env) error { return churn(e, sub, section, churnUnits) }); err != nil {
				return fmt.Errorf("%s: %w", side.label, err)
			}
			side.churn = append(side.churn, sub.Rows...)
		}
	}
	for _, side := range sides {
		for _, x := range side.rows {
			x.Section = fmt.Sprintf("%d timers, %s (rounds in turn: %d)", n, side.label, rounds)
			x.Total /= time.Duration(rounds)
			r.add(x)
		}
	}
	for _, side := range sides {
		if len(side.upstreamDaemon) > 0 {
			upstreamRows(r, fmt.Sprintf("snapm 0.7's own timer code beside the daemon, %s (rounds in turn: %d, pooled)", side.label, rounds),
				side.upstreamDaemon, side.upstreamSnapm)
		}
	}
	// Each round's churn as it was: its figures are totals, not samples.
	for round := range rounds {
		for _, side := range sides {
			if len(side.churn) == 0 {
				continue
			}
			per := len(side.churn) / rounds
			r.Rows = append(r.Rows, side.churn[round*per:(round+1)*per]...)
		}
	}
	return nil
}

// pool adds each row's samples to the row of the same place in into, and
// its total (divided by the rounds at the end), keeps the largest memory
// figure, and a target met only if met in every round.
func pool(into, rows []row) []row {
	if into == nil {
		return rows
	}
	for i := range into {
		into[i].Samples = append(into[i].Samples, rows[i].Samples...)
		into[i].Total += rows[i].Total
		into[i].KiB = max(into[i].KiB, rows[i].KiB)
		into[i].Met = into[i].Met && rows[i].Met
	}
	return into
}

// export writes the tree of git revision rev into dir.
func export(rev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "-C", sysns.RepoRoot(), "archive", "--format=tar", rev)
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	archive.Stderr, untar.Stderr = &stderr, &stderr
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		untar.Wait()
		return fmt.Errorf("git archive %s: %w: %s", rev, err, stderr.String())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("untar %s: %w: %s", rev, err, stderr.String())
	}
	return nil
}
