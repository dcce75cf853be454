package synctrace

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

// The parser follows calls split across lines by other threads' calls,
// directories removed whole, and failed calls (which change nothing).
func TestParse(t *testing.T) {
	const trace = `10 mkdirat(5</r/s>, "a.d", 0755) = 0
11 renameat(5</r/s>, ".tmp", 6</r/s/a.d> <unfinished ...>
10 mkdirat(5</r/s>, "b.d", 0755) = -1 EEXIST (File exists)
11 <... renameat resumed>, "10.conf") = 0
10 newfstatat(AT_FDCWD</x>, "/synctrace-mark/one", 0x1, 0) = -1 ENOENT (No such file or directory)
10 fsync(6</r/s/a.d>) = 0
10 fsync(5</r/s>) = 0
10 openat(AT_FDCWD</x>, "/r/s/a.d/new, with a comma", O_WRONLY|O_CREAT|O_EXCL, 0600) = 7</r/s/a.d/new, with a comma>
10 unlinkat(5</r/s>, "gone.d", AT_REMOVEDIR) = 0
10 newfstatat(AT_FDCWD</x>, "/synctrace-mark/two", 0x1, 0) = -1 ENOENT (No such file or directory)
`
	marks, unsynced, err := parse(bufio.NewScanner(strings.NewReader(trace)), "/r")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(marks, []string{"one", "two"}) {
		t.Fatalf("marks %q", marks)
	}
	if got := unsynced["one"]; !slices.Equal(got, []string{"/r/s", "/r/s/a.d"}) {
		t.Errorf("one: %q", got)
	}
	if got := unsynced["two"]; !slices.Equal(got, []string{"/r/s", "/r/s/a.d"}) {
		t.Errorf("two: %q", got)
	}
}
