// Package calcorpus reads the calendar corpus of service/calendar/testdata
// for the tests that hold the CLI's calendar against systemd-analyze's.
package calcorpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Expressions are the corpus's inputs with systemd 252's verdict on each,
// read from dir (service/calendar/testdata).
func Expressions(dir string) (valid, invalid []string, err error) {
	rows := func(name string, fn func(fields []string) error) {
		if err != nil {
			return
		}
		var f *os.File
		if f, err = os.Open(filepath.Join(dir, name)); err != nil {
			return
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() && err == nil {
			if line := s.Text(); !strings.HasPrefix(line, "#") && line != "" {
				err = fn(strings.Split(line, "\t"))
			}
		}
		if err == nil {
			err = s.Err()
		}
	}
	rows("normalize.tsv", func(f []string) error { valid = append(valid, f[0]); return nil })
	rows("admin.tsv", func(f []string) error {
		in, err := strconv.Unquote(f[len(f)-1])
		if f[1] == "valid" {
			valid = append(valid, in)
		} else {
			invalid = append(invalid, in)
		}
		return quoted(f[len(f)-1], err)
	})
	rows("invalid.tsv", func(f []string) error {
		in, err := strconv.Unquote(f[0])
		invalid = append(invalid, in)
		return quoted(f[0], err)
	})
	return valid, invalid, err
}

func quoted(s string, err error) error {
	if err != nil {
		return fmt.Errorf("corpus: %q: %w", s, err)
	}
	return nil
}

// Comparable is calendar output without what systemd-analyze cannot
// print alike: the "From now" lines, which depend on the moment of the
// call, and the CLI's "Timer elapses" lines.
func Comparable(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l2 := strings.TrimSpace(l)
		if !strings.HasPrefix(l2, "From now:") && !strings.HasPrefix(l2, "Timer elapses:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// FirstDiff names the first line where got and want differ.
func FirstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("%d:\n ours:   %q\n theirs: %q", i+1, a, b)
		}
	}
	return "none"
}
