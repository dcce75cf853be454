// Package unitfiles tells the unit file state of many instances of our
// timer templates at once, from the symlinks systemd itself reads. Asking
// systemd costs a walk of every .wants directory for each unit: at 10,000
// enabled timers, 10,000 symlinks read for every one of 10,000 answers.
package unitfiles

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Dirs are where enablement and masks live: the persistent configuration
// (/etc/systemd/system) and the runtime one (/run/systemd/system).
type Dirs struct {
	Persistent string
	Runtime    string
}

// dependencyDirs are the suffixes of the directories whose symlinks enable
// a unit ([Install] WantedBy=, RequiredBy=, UpheldBy=).
var dependencyDirs = []string{".wants", ".requires", ".upholds"}

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
		switch {
		case persistent.own[u] == "file" || runtime.own[u] == "file":
			continue // a unit file of its own: ask systemd
		case persistent.own[u] == "mask":
			out[u] = "masked"
		case runtime.own[u] == "mask":
			out[u] = "masked-runtime"
		case persistent.enabled[u]:
			out[u] = "enabled"
		case runtime.enabled[u]:
			out[u] = "enabled-runtime"
		default:
			out[u] = "disabled"
		}
	}
	return out, nil
}

func hasDependencySuffix(name string) bool {
	for _, s := range dependencyDirs {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
