// Package install tests what a user runs before the daemon does: the
// requirement check, and `make && sudo make install`, whose install step
// runs as root with a PATH that has no Go.
package install

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

const nobody = 65534

// `make` as the user, then `make install` as root under sudo's PATH: the
// install takes what was built, runs no Go and leaves nothing in the clone.
func TestInstallAfterBuildNeedsNoGo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root needed to install as root over a clone owned by someone else")
	}
	clone := copyTree(t)
	if out, err := exec.Command("make", "-C", clone).CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	// The clone belongs to the user who built it.
	if err := filepath.WalkDir(clone, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, clone)

	dest := t.TempDir()
	path := pathWithoutGo(t)
	cmd := exec.Command("make", "-C", clone, "install", "DESTDIR="+dest, "PREFIX=/usr")
	cmd.Env = append(os.Environ(), "PATH="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install with PATH=%s: %v\n%s", path, err, out)
	}

	after := listTree(t, clone)
	for p, st := range after {
		if st.uid == 0 {
			t.Errorf("make install left %s owned by root in the clone", p)
		}
		if was, ok := before[p]; !ok {
			t.Errorf("make install created %s in the clone", p)
		} else if !st.mtime.Equal(was.mtime) {
			t.Errorf("make install rewrote %s", p)
		}
	}
	built, err := os.ReadFile(filepath.Join(clone, "bin", "snapm-timersd"))
	if err != nil {
		t.Fatal(err)
	}
	installed, err := os.ReadFile(filepath.Join(dest, "usr", "libexec", "snapm-timersd"))
	if err != nil || !bytes.Equal(built, installed) {
		t.Errorf("installed daemon is not the one make built (%v)", err)
	}
}

// copyTree copies the working tree (what git tracks or would track, as it
// is now) into a scratch clone.
func copyTree(t *testing.T) string {
	t.Helper()
	root := sysns.RepoRoot()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(clone, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return clone
}

type fileState struct {
	uid   uint32
	mtime time.Time
}

func listTree(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{uid: info.Sys().(*syscall.Stat_t).Uid}
		if !d.IsDir() {
			st.mtime = info.ModTime()
		}
		files[p] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// pathWithoutGo is this PATH less every directory that holds a go, as
// sudo's secure_path would be on a machine with Go in /usr/local/go.
func pathWithoutGo(t *testing.T) string {
	t.Helper()
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err != nil {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		t.Fatal("nothing left of PATH without Go")
	}
	return strings.Join(dirs, string(os.PathListSeparator))
}
