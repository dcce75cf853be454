// Package unitfiles tells the unit file state of many instances of our
// timer templates at once, from the symlinks systemd itself reads. Asking
// systemd costs a walk of every .wants directory for each unit: at 10,000
// enabled timers, 10,000 symlinks read for every one of 10,000 answers.
// Needed by: tests/realsystemd BenchmarkUnitFileState.
package unitfiles

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Dirs are where enablement and masks live: the persistent configuration
// (/etc/systemd/system) and the runtime one (/run/systemd/system).
type Dirs struct {
	Persistent string
	Runtime    string
}

// dependencyDirs are the suffixes of the directories whose symlinks enable
// a unit ([Install] WantedBy=, RequiredBy=). systemd 252's GetUnitFileState
// does not count .upholds (UpheldBy=): a unit linked only there is
// "disabled" to it, as TestUnitFileStatesAgreeWithSystemd checks.
var dependencyDirs = []string{".wants", ".requires"}

// States returns what systemd 252's GetUnitFileState answers for each of
// units, instances of a template with an [Install] section: a mask
// (symlink to /dev/null) in the persistent or runtime directory makes it
// "masked" or "masked-runtime"; a symlink named after it in a dependency
// directory there makes it "enabled" or "enabled-runtime"; otherwise it is
// "disabled". A unit with a file of its own in either directory depends
// on more than that and is left out, for the caller to ask systemd.
func States(d Dirs, units []string) (map[string]string, error) {
	type scan struct {
		own     map[string]string // unit-named entries in the directory itself: "mask" or "file"
		enabled map[string]bool
	}
	ours := make(map[string]bool, len(units))
	for _, u := range units {
		ours[u] = true
	}
	read := func(dir string) (scan, error) {
		s := scan{own: map[string]string{}, enabled: map[string]bool{}}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return s, nil
		}
		if err != nil {
			return s, err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() && hasDependencySuffix(name) {
				links, err := os.ReadDir(filepath.Join(dir, name))
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return s, err
				}
				for _, l := range links {
					if l.Type()&fs.ModeSymlink != 0 {
						s.enabled[l.Name()] = true
					}
				}
				continue
			}
			if !ours[name] {
				continue // a mask or file of another unit: nothing to read
			}
			if target, err := os.Readlink(filepath.Join(dir, name)); err == nil && target == "/dev/null" {
				s.own[name] = "mask"
			} else if !e.IsDir() {
				s.own[name] = "file"
			}
		}
		return s, nil
	}
	persistent, err := read(d.Persistent)
	if err != nil {
		return nil, err
	}
	runtime, err := read(d.Runtime)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(units))
	for _, u := range units {
		if state, ok := decide(persistent.own[u], runtime.own[u], persistent.enabled[u], runtime.enabled[u]); ok {
			out[u] = state
		}
	}
	return out, nil
}

// State is States for one unit. It looks at the unit's own name in each
// directory and in each dependency directory, not at every entry: its
// cost stays flat however many timers are enabled.
func State(d Dirs, unit string) (state string, known bool, err error) {
	look := func(dir string) (own string, enabled bool, err error) {
		if dir == "" {
			return "", false, nil // not configured: nothing there
		}
		own, err = ownEntry(filepath.Join(dir, unit))
		if err != nil || own == "file" {
			return own, false, err
		}
		// The entries' types come with their names (no stat each); like
		// systemd, only real directories count.
		entries, err := readDirUnsorted(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return own, false, nil
		}
		if err != nil {
			return "", false, err
		}
		for _, e := range entries {
			if !e.IsDir() || !hasDependencySuffix(e.Name()) {
				continue
			}
			fi, err := os.Lstat(filepath.Join(dir, e.Name(), unit))
			if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return own, true, nil
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", false, err
			}
		}
		return own, false, nil
	}
	pOwn, pEnabled, err := look(d.Persistent)
	if err != nil {
		return "", false, err
	}
	rOwn, rEnabled, err := look(d.Runtime)
	if err != nil {
		return "", false, err
	}
	state, known = decide(pOwn, rOwn, pEnabled, rEnabled)
	return state, known, nil
}

// readDirUnsorted is os.ReadDir without the sort, which State has no use
// for.
func readDirUnsorted(dir string) ([]fs.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// ownEntry says what path, a unit's name in a unit directory, is: "mask",
// "file" (a unit file of its own, or a link to one) or "" (nothing).
func ownEntry(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := os.Readlink(path); err == nil && target == "/dev/null" {
			return "mask", nil
		}
	}
	if fi.IsDir() {
		return "", nil
	}
	return "file", nil
}

// decide is GetUnitFileState's answer from what the persistent and the
// runtime directory hold; known is false for a unit file of its own,
// which only systemd can judge.
func decide(persistentOwn, runtimeOwn string, persistentEnabled, runtimeEnabled bool) (state string, known bool) {
	switch {
	case persistentOwn == "file" || runtimeOwn == "file":
		return "", false
	case persistentOwn == "mask":
		return "masked", true
	case runtimeOwn == "mask":
		return "masked-runtime", true
	case persistentEnabled:
		return "enabled", true
	case runtimeEnabled:
		return "enabled-runtime", true
	}
	return "disabled", true
}

func hasDependencySuffix(name string) bool {
	for _, s := range dependencyDirs {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
