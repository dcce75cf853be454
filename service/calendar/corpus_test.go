package calendar

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The corpus in testdata/ was verified against systemd 252 (see its
// README): every row is a case, and 100% agreement is the bar.

func rows(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rows", file)
	}
	return out
}

func unquote(t *testing.T, s string) string {
	t.Helper()
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("unquoting %s: %v", s, err)
	}
	return u
}

// zoneFor maps the corpus' TZ column: empty is TZ="" (UTC), <unset> the
// host zone of the machine that made it (UTC), else a TZ value.
func zoneFor(t *testing.T, tz string) *Zone {
	t.Helper()
	if tz == "<unset>" {
		tz = ""
	}
	z, err := ZoneFromTZ(tz)
	if err != nil {
		t.Fatalf("zone %q: %v", tz, err)
	}
	return z
}

var utcHost = &Zone{loc: UTC.loc, names: UTC.names}

func TestCorpusNormalize(t *testing.T) {
	t.Parallel()
	for _, r := range rows(t, "normalize.tsv") {
		in, want := r[0], r[4]
		spec, err := Parse(in, utcHost)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := spec.String(); got != want {
			t.Errorf("Parse(%q) = %q, want %q", in, got, want)
		}
	}
}

var errnos = map[string]syscall.Errno{"EINVAL": syscall.EINVAL, "ERANGE": syscall.ERANGE, "ENOBUFS": syscall.ENOBUFS}

func TestCorpusInvalid(t *testing.T) {
	t.Parallel()
	for _, r := range rows(t, "invalid.tsv") {
		in, want := unquote(t, r[0]), errnos[r[4]]
		checkInvalid(t, in, want)
	}
	for _, r := range rows(t, "invalid.txt") {
		checkInvalid(t, unquote(t, r[0]), 0)
	}
}

func checkInvalid(t *testing.T, in string, errno syscall.Errno) {
	t.Helper()
	spec, err := Parse(in, utcHost)
	var e *Error
	switch {
	case err == nil:
		t.Errorf("Parse(%q) = %q, want an error", in, spec)
	case !errors.As(err, &e) || !errors.Is(err, ErrInvalid):
		t.Errorf("Parse(%q): %v is not an *Error", in, err)
	case errno != 0 && e.Errno != errno:
		t.Errorf("Parse(%q): errno %v (%v), want %v", in, e.Errno, err, errno)
	}
}

func TestCorpusNext(t *testing.T) {
	t.Parallel()
	for _, r := range rows(t, "next.tsv") {
		// local252_lib_usec is 252's own answer, also where later
		// systemd differs (the issue#40260 rows).
		expr, tz, start, want := r[0], r[1], r[2], r[7]
		checkNext(t, expr, tz, start, 1, want)
	}
}

func TestCorpusNextExtra(t *testing.T) {
	t.Parallel()
	for _, r := range rows(t, "next-extra.tsv") {
		iter, err := strconv.Atoi(r[3])
		if err != nil {
			t.Fatal(err)
		}
		checkNext(t, r[0], r[1], r[2], iter, r[4])
	}
}

func checkNext(t *testing.T, expr, tz, startStr string, iterations int, want string) {
	t.Helper()
	start, err := strconv.ParseUint(startStr, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Parse(expr, zoneFor(t, tz))
	if err != nil {
		t.Errorf("Parse(%q) TZ=%q: %v", expr, tz, err)
		return
	}
	got, cur := "", start
	for i := 0; i < iterations; i++ {
		next, err := spec.Next(cur)
		if errors.Is(err, ErrNever) {
			got = "never"
			break
		}
		if err != nil {
			got = err.Error()
			break
		}
		got, cur = strconv.FormatUint(next, 10), next
	}
	if got != want {
		t.Errorf("%q TZ=%q from %d, elapse #%d: got %s, want %s", expr, tz, start, iterations, got, want)
	}
}

func TestCorpusAdmin(t *testing.T) {
	t.Parallel()
	const after = 1767225600000000 // 2026-01-01T00:00:00Z
	for _, r := range rows(t, "admin.tsv") {
		in := unquote(t, r[7])
		spec, err := Parse(in, utcHost)
		if r[1] == "invalid" {
			checkInvalid(t, in, errnos[r[4]])
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := spec.String(); got != r[2] {
			t.Errorf("Parse(%q) = %q, want %q", in, got, r[2])
		}
		got := "never"
		if next, err := spec.Next(after); err == nil {
			got = strconv.FormatUint(next, 10)
		}
		if want := r[5]; got != want && !(want == "" && got == "never") {
			t.Errorf("%q next after 2026-01-01: %s, want %s", in, got, want)
		}
	}
}
