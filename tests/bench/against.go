// Another revision measured beside this tree: on a machine whose speed
// drifts by a quarter between runs, a change's effect is only seen with
// both measured in turn, namespace after namespace.

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// against runs the side-by-side pairs (see sideBySide) over n timers in
// rounds, each round a namespace with rev's daemon, units and policy and
// then one with this tree's, and reports each side's pairs pooled. rev
// must have CreateTimerWithFlags (81536c4 or later).
func against(r *report, rev string, n, rounds, pairs int) error {
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
				return sideBySide(e, sub, "", pairs)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", side.label, err)
			}
			side.rows = pool(side.rows, sub.Rows)
		}
	}
	for _, side := range sides {
		for _, x := range side.rows {
			x.Section = fmt.Sprintf("%d timers, %s (rounds in turn: %d)", n, side.label, rounds)
			r.add(x)
		}
	}
	return nil
}

// pool adds each row's samples to the row of the same name in into.
func pool(into, rows []row) []row {
	if into == nil {
		return rows
	}
	for i := range into {
		into[i].Samples = append(into[i].Samples, rows[i].Samples...)
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
