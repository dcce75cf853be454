// Package synctrace proves durability where a crash test cannot: SIGKILL
// never loses data the kernel holds, so only a power cut shows a directory
// entry that was written and never fsynced. A test runs its writes in a
// helper test of its own binary under strace(1), marks the points where
// they must be durable, and gets, for each mark, the directories whose
// entries changed since they were last fsynced.
package synctrace

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	envRoot    = "SNAPM_SYNCTRACE_ROOT"
	markPrefix = "/synctrace-mark/"
)

// Helping tells a helper test that it runs under strace, for Check;
// it skips itself otherwise.
func Helping() bool { return os.Getenv(envRoot) != "" }

// Root is the directory the helper writes under.
func Root() string { return os.Getenv(envRoot) }

// Mark names a point where every write so far must be durable.
func Mark(name string) { os.Stat(markPrefix + name) } //nolint:errcheck // only the call is seen

// Check runs the test helper of this test binary under strace, with Root
// a new directory, and fails t for each mark where a directory under Root
// had entries changed (made, renamed, linked or removed) and not fsynced
// since, or when the marks are not want.
func Check(t *testing.T, helper string, want ...string) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatalf("strace is needed to see the file system calls: %v", err)
	}
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command("strace", "-f", "-y", "-qq", "-o", trace,
		"-e", "trace=mkdirat,openat,renameat,renameat2,linkat,unlinkat,newfstatat,fsync,fdatasync",
		os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRoot+"="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s under strace: %v\n%s", helper, err, out)
	}
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	marks, unsynced, err := parse(bufio.NewScanner(f), root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(marks, want) {
		t.Fatalf("%s marked %q, want %q", helper, marks, want)
	}
	for _, mark := range marks {
		if dirs := unsynced[mark]; len(dirs) > 0 {
			t.Errorf("%s: directories not fsynced: %q", mark, dirs)
		}
	}
}

var (
	lineRE = regexp.MustCompile(`^(\d+)\s+(.*)$`)
	callRE = regexp.MustCompile(`^(\w+)\((.*)\)\s+= (-?\d+)`)
	// An argument: a descriptor with its path, a string, or a bare word.
	argRE = regexp.MustCompile(`(?:AT_FDCWD|\d+)<([^>]*)>|"((?:[^"\\]|\\.)*)"|[^,\s][^,]*`)
)

// parse reads strace -f -y output.
func parse(sc *bufio.Scanner, root string) ([]string, map[string][]string, error) {
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var marks []string
	unsynced := map[string][]string{}
	dirty := map[string]bool{}
	unfinished := map[string]string{} // pid -> the call's start
	// Root itself is the test's, made before: only what is below counts.
	touch := func(path string) {
		if dir := filepath.Dir(path); strings.HasPrefix(dir, root+"/") {
			dirty[dir] = true
		}
	}
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, text := m[1], m[2]
		if start, ok := strings.CutSuffix(text, " <unfinished ...>"); ok {
			unfinished[pid] = start
			continue
		}
		if strings.HasPrefix(text, "<... ") {
			_, rest, _ := strings.Cut(text, " resumed>")
			text = unfinished[pid] + rest
			delete(unfinished, pid)
		}
		c := callRE.FindStringSubmatch(text)
		if c == nil {
			continue
		}
		name, args := c[1], splitArgs(c[2])
		if name == "newfstatat" && len(args) > 1 && strings.HasPrefix(args[1], markPrefix) {
			mark := strings.TrimPrefix(args[1], markPrefix)
			marks = append(marks, mark)
			for dir := range dirty {
				unsynced[mark] = append(unsynced[mark], dir)
			}
			slices.Sort(unsynced[mark])
			continue
		}
		if strings.HasPrefix(c[3], "-") {
			continue // it failed: nothing changed
		}
		at := func(i int) string { // the path of args i (a dirfd) and i+1
			if i+1 >= len(args) {
				return ""
			}
			if filepath.IsAbs(args[i+1]) {
				return args[i+1]
			}
			return filepath.Join(args[i], args[i+1])
		}
		switch name {
		case "mkdirat":
			touch(at(0))
		case "unlinkat":
			touch(at(0))
			if len(args) > 2 && strings.Contains(args[2], "AT_REMOVEDIR") {
				delete(dirty, at(0)) // gone: nothing in it to keep
			}
		case "openat":
			if len(args) > 2 && strings.Contains(args[2], "O_CREAT") {
				touch(at(0))
			}
		case "renameat", "renameat2":
			touch(at(0))
			touch(at(2))
		case "linkat":
			touch(at(2))
		case "fsync", "fdatasync":
			if len(args) > 0 {
				delete(dirty, args[0])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading the trace: %w", err)
	}
	return marks, unsynced, nil
}

// splitArgs takes a call's arguments apart: a descriptor becomes its path,
// a string its text.
func splitArgs(s string) []string {
	var out []string
	for _, m := range argRE.FindAllStringSubmatch(s, -1) {
		switch {
		case strings.HasSuffix(m[0], ">") && m[1] != "":
			out = append(out, m[1])
		case strings.HasPrefix(m[0], `"`):
			out = append(out, m[2])
		default:
			out = append(out, strings.TrimSpace(m[0]))
		}
	}
	return out
}
