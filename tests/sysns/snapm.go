package sysns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The archives of the unmodified upstream snapm 0.7 and of boom-boot, which
// snapm imports (see ../shared/interop/README.md beside the repository).
const (
	snapmArchive = "snapm-0.7.0-880f8d5.tar.gz"
	boomArchive  = "boom-boot-1.6.8-937e413.tar.gz"
)

// ErrNoInterop is wrapped when the archives of the real snapm are not at
// hand: the tests that need it do not run, and the sandbox falls back to
// its stand-in.
var ErrNoInterop = errors.New("the real snapm's archives are not at hand")

// snapmConf is snapm's configuration in the namespace: no snapshot
// provider, since schedules need none and the namespace has no volumes.
const snapmConf = "[Global]\nDisablePlugins = lvm2-cow, lvm2-thin, stratis\n"

// Snapm is the real snapm, installed from its archives in a venv that
// lives outside /tmp and /var/tmp (which the namespace replaces), so that
// the same path works on the host and inside the namespace.
type Snapm struct {
	// Archives is the directory the archives were found in.
	Archives string
	// Venv is the virtual environment holding snapm and boom.
	Venv string
	// Built says whether this call built the venv (false: it was cached).
	Built bool
	// dir holds the venv, the extracted sources and bin/snapm.
	dir string
}

// InteropDir is where the archives are: $SNAPM_INTEROP if set, else
// ../shared/interop beside the repository (beside the main checkout, for
// a git worktree of it).
func InteropDir() string {
	if dir := os.Getenv("SNAPM_INTEROP"); dir != "" {
		return dir
	}
	return filepath.Join(mainCheckout(RepoRoot()), "..", "shared", "interop")
}

// mainCheckout is root, or for a git worktree the checkout it belongs to:
// its .git file names the worktree's git directory, whose commondir leads
// to the main repository's .git.
func mainCheckout(root string) string {
	data, err := os.ReadFile(filepath.Join(root, ".git"))
	if err != nil {
		return root // a directory (or no git at all): root is the checkout
	}
	gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir: ")
	if !ok {
		return root
	}
	common, err := os.ReadFile(filepath.Join(gitdir, "commondir"))
	if err != nil {
		return root
	}
	c := strings.TrimSpace(string(common))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitdir, c)
	}
	return filepath.Dir(filepath.Clean(c))
}

// PrepareSnapm finds the archives in dir and returns snapm installed from
// them, building its venv once per archive contents under cache (several
// processes may ask at once: one builds, the others wait for it). It
// wraps ErrNoInterop when an archive is missing.
func PrepareSnapm(dir, cache string) (*Snapm, error) {
	sum := sha256.New()
	for _, a := range []string{snapmArchive, boomArchive} {
		f, err := os.Open(filepath.Join(dir, a))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %s in %s (set SNAPM_INTEROP to their directory)", ErrNoInterop, a, dir)
		}
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(sum, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	// The venv links to this Python: another one needs another venv.
	python, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		return nil, fmt.Errorf("the real snapm needs Debian's python3 (/usr/bin/python3): %w", err)
	}
	sum.Write([]byte(python))
	s := &Snapm{Archives: dir, dir: filepath.Join(cache, hex.EncodeToString(sum.Sum(nil))[:16])}
	s.Venv = filepath.Join(s.dir, "venv")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	// The marker is written last: a build that died half-way is redone.
	done := filepath.Join(s.dir, "done")
	if _, err := os.Stat(done); err == nil {
		return s, nil
	}
	if err := s.build(); err != nil {
		return nil, fmt.Errorf("installing the real snapm from %s: %w", dir, err)
	}
	s.Built = true
	return s, os.WriteFile(done, nil, 0o644)
}

// DefaultSnapmCache is where venvs are kept: the user's cache directory.
func DefaultSnapmCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "snapm-timersd", "interop"), nil
}

// build extracts both archives and installs them, as the archives' README
// says: Debian's python3-dbus is seen through --system-site-packages, and
// nothing is fetched.
func (s *Snapm) build() error {
	// Debian splits both out of python3: say so rather than fail half-way.
	if out, err := exec.Command("/usr/bin/python3", "-c", "import ensurepip, dbus").CombinedOutput(); err != nil {
		return fmt.Errorf("the real snapm needs Debian's python3-venv and python3-dbus: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return err
	}
	src := filepath.Join(s.dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	steps := [][]string{
		{"tar", "-C", src, "-xzf", filepath.Join(s.Archives, snapmArchive)},
		{"tar", "-C", src, "-xzf", filepath.Join(s.Archives, boomArchive)},
		{"/usr/bin/python3", "-m", "venv", "--system-site-packages", s.Venv},
		{filepath.Join(s.Venv, "bin", "pip"), "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
			"--no-cache-dir", "--disable-pip-version-check", filepath.Join(src, "boom-boot"), filepath.Join(src, "snapm")},
	}
	for _, argv := range steps {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, out)
		}
	}
	// A directory holding snapm alone, laid over the namespace's /usr/bin.
	bin := filepath.Join(s.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	return os.Symlink(filepath.Join(s.Venv, "bin", "snapm"), filepath.Join(bin, "snapm"))
}

// InstallSnapm makes s the namespace's /usr/bin/snapm, which the template
// units run, with everything snapm needs to run there: its configuration
// in the private /etc/snapm, its runtime directories (from its own
// tmpfiles.d) in the private /run and /var. /boot/loader/entries, which
// boom needs, is on the namespace's own /boot. The host's /usr/bin is
// untouched: the namespace gets an overlay of its own on it.
func (ns *NS) InstallSnapm(ctx context.Context, s *Snapm) error {
	if err := os.WriteFile(ns.SnapmDirPath("snapm.conf"), []byte(snapmConf), 0o644); err != nil {
		return err
	}
	for _, argv := range [][]string{
		{"mount", "-t", "overlay", "overlay", "-o", "lowerdir=" + filepath.Join(s.dir, "bin") + ":/usr/bin", "/usr/bin"},
		{"systemd-tmpfiles", "--create", filepath.Join(s.dir, "src", "snapm", "systemd", "tmpfiles.d", "snapm.conf")},
	} {
		if _, err := ns.Output(ctx, argv...); err != nil {
			return err
		}
	}
	return nil
}

// SnapmResult is what a snapm command said and how it ended.
type SnapmResult struct {
	Stdout, Stderr string
	Status         int
}

// Snapm runs `snapm ARGS...` inside the namespace as root, as an admin
// would. Only a failure to run it at all is an error.
func (ns *NS) Snapm(ctx context.Context, args ...string) (SnapmResult, error) {
	cmd := ns.Command(ctx, append([]string{"snapm"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := SnapmResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.Status = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("running snapm %s: %w", strings.Join(args, " "), err)
	}
	return res, nil
}

// HostSnapmState describes what of the host snapm could change if it ever
// ran outside the namespace: /etc/snapm, /boot, /usr/bin/snapm and its
// runtime directories, each path with its type, size and content hash.
// Equal before and after a run proves nothing reached the host.
func HostSnapmState() (string, error) {
	var b strings.Builder
	for _, root := range []string{"/etc/snapm", "/boot", "/usr/bin/snapm", "/run/snapm", "/var/cache/snapm"} {
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if errors.Is(err, os.ErrNotExist) && p == root {
				fmt.Fprintf(&b, "%s absent\n", p)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
			if info.Mode().IsRegular() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, " %x", sha256.Sum256(data))
			}
			b.WriteByte('\n')
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
