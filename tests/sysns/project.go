package sysns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// RepoRoot is the project's top directory, found from this source file so
// it works from any test package and from `go run`.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildDaemon compiles snapm-timersd into dir and returns its path. With
// tags, the binary's name ends in them: snapm-timersd-crashpoints.
func BuildDaemon(dir string, tags ...string) (string, error) {
	return buildDaemonAt(RepoRoot(), dir, tags...)
}

func buildDaemonAt(root, dir string, tags ...string) (string, error) {
	name := strings.Join(append([]string{"snapm-timersd"}, tags...), "-")
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", out, "./cmd/snapm-timersd")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, msg)
	}
	return out, nil
}

// BuildTool builds the project's command in pkg ("./tests/forge") into the
// namespace's private /usr/libexec as name, where every uid inside can run
// it, and returns its path inside.
func (ns *NS) BuildTool(pkg, name string) (string, error) {
	cmd := exec.Command("go", "build", "-o", filepath.Join(ns.Dir, "libexec", name), pkg)
	cmd.Dir = RepoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v: %s", pkg, err, msg)
	}
	return "/usr/libexec/" + name, nil
}

// ProjectOptions installs what `make install` would, from the source tree:
// the units, the bus policy, activation file and polkit action, and the
// daemon, built into dir, at the unit's ExecStart= path.
func ProjectOptions(dir string) (Options, error) {
	return ProjectOptionsAt(RepoRoot(), dir)
}

// ProjectOptionsAt is ProjectOptions for the source tree at root, another
// revision's, say, to measure it beside this one.
func ProjectOptionsAt(root, dir string) (Options, error) {
	binary, err := buildDaemonAt(root, dir)
	if err != nil {
		return Options{}, err
	}
	opts := Options{Files: map[string]map[string][]byte{}, Modes: map[string]os.FileMode{"snapm-timersd": 0o755}}
	add := func(tree, pattern string) error {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil || len(matches) == 0 {
			return fmt.Errorf("no files match %s: %v", pattern, err)
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				return err
			}
			if opts.Files[tree] == nil {
				opts.Files[tree] = map[string][]byte{}
			}
			opts.Files[tree][filepath.Base(m)] = data
		}
		return nil
	}
	for _, f := range []struct{ tree, pattern string }{
		{"etc-sd", "systemd/*.service"},
		{"etc-sd", "systemd/*.timer"},
		{"dbus-system.d", "dbus-policy/*.conf"},
		{"system-services", "dbus-policy/*.service"},
		{"polkit-actions", "dbus-policy/*.policy"},
	} {
		if err := add(f.tree, f.pattern); err != nil {
			return opts, err
		}
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return opts, err
	}
	opts.Files["libexec"] = map[string][]byte{"snapm-timersd": bin}
	return opts, nil
}

// InstalledOptions installs what `make install DESTDIR=destdir` put in
// destdir, and nothing else of the project: each file lands in the
// namespace's copy of the directory it was installed to. Files outside the
// namespace's private trees (manuals, interface XML) play no part in
// running the service and are returned as skipped.
func InstalledOptions(destdir string) (opts Options, skipped []string, err error) {
	opts = Options{Files: map[string]map[string][]byte{}, Modes: map[string]os.FileMode{}}
	err = filepath.WalkDir(destdir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		abs := strings.TrimPrefix(p, filepath.Clean(destdir))
		for tree, target := range private {
			rel, ok := strings.CutPrefix(abs, target+"/")
			if !ok {
				continue
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if opts.Files[tree] == nil {
				opts.Files[tree] = map[string][]byte{}
			}
			opts.Files[tree][rel] = data
			opts.Modes[rel] = info.Mode().Perm()
			return nil
		}
		skipped = append(skipped, abs)
		return nil
	})
	return opts, skipped, err
}
