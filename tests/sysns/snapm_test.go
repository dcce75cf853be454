package sysns

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The archives are looked for beside the checkout, and for a git worktree
// beside the checkout it belongs to, as CI and the lead's tree have them.
func TestMainCheckout(t *testing.T) {
	top := t.TempDir()
	main := filepath.Join(top, "main")
	wt := filepath.Join(top, "wt", "branch")
	gitdir := filepath.Join(main, ".git", "worktrees", "branch")
	for _, d := range []string{gitdir, wt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(wt, ".git"):          "gitdir: " + gitdir + "\n",
		filepath.Join(gitdir, "commondir"): "../..\n",
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for root, want := range map[string]string{main: main, wt: main, top: top} {
		if got := mainCheckout(root); got != want {
			t.Errorf("mainCheckout(%s) = %s, want %s", root, got, want)
		}
	}
}

func TestInteropDirFromEnvironment(t *testing.T) {
	t.Setenv("SNAPM_INTEROP", "/somewhere/else")
	if got := InteropDir(); got != "/somewhere/else" {
		t.Errorf("InteropDir() = %s with SNAPM_INTEROP set, want it", got)
	}
}

// Without the archives the real snapm is not at hand, which callers tell
// from a failure to build it.
func TestPrepareSnapmWithoutArchives(t *testing.T) {
	cache := t.TempDir()
	if _, err := PrepareSnapm(t.TempDir(), cache); !errors.Is(err, ErrNoInterop) {
		t.Errorf("PrepareSnapm of an empty directory: %v, want ErrNoInterop", err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("PrepareSnapm without archives left %d entries in the cache", len(entries))
	}
}
