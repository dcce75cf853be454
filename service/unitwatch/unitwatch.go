// Package unitwatch tells which units' drop-in directories changed under a
// unit directory, so that edits made by hand (or by snapm's own tools)
// reach the published state without waiting for a daemon-reload. It
// watches the unit directory itself, for UNIT.d directories coming and
// going, and each UNIT.d of interest, for the files in it; bursts (a write
// is a create, a write and a rename) are reported once.
package unitwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/inotify"
)

const (
	// quiet is how long the directory must stay still before a burst is
	// reported; maxDelay bounds the wait under a steady stream of changes,
	// well within the second a hand edit may take to show.
	quiet    = 50 * time.Millisecond
	maxDelay = 250 * time.Millisecond

	dirMask    = syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO | syscall.IN_ONLYDIR
	subdirMask = syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO |
		syscall.IN_CLOSE_WRITE | syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_ONLYDIR
)

// ErrLost is wrapped by Run's error when the directory can no longer be
// watched.
var ErrLost = errors.New("the unit directory watch is lost")

// filesMask is what a watch of the files of one directory hears: a file
// written in place or renamed into place, and one removed or renamed away.
const filesMask = syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM | syscall.IN_DELETE | syscall.IN_ATTRIB

// Watcher watches one unit directory (or, made by NewFiles, the files of
// one directory). Create it before reading the
// directory, so that no change falls between the read and the watch.
type Watcher struct {
	dir   string
	match func(unit string) bool
	log   *zap.Logger
	f     *os.File
	// fd is f's descriptor, kept apart: f.Fd() would make f blocking, and
	// its deadlines would stop working.
	fd  int
	top int
	// units maps each UNIT.d's watch descriptor to its unit; only Run
	// touches it after New.
	units map[int]string
	full  bool // a watch could not be added: warned once
	// file names the files of interest of a NewFiles watcher, nil for a
	// unit directory's.
	file func(name string) (string, bool)
}

// NewFiles starts watching the files in dir, reported by the names file
// gives those of interest; Run works as for a unit directory, with those
// names for units.
func NewFiles(dir string, file func(name string) (string, bool), log *zap.Logger) (*Watcher, error) {
	return watch(&Watcher{dir: dir, file: file, log: log}, filesMask)
}

// New starts watching dir and every UNIT.d in it whose unit match accepts.
func New(dir string, match func(unit string) bool, log *zap.Logger) (*Watcher, error) {
	w, err := watch(&Watcher{dir: dir, match: match, log: log}, dirMask)
	if err != nil {
		return nil, err
	}
	if err := w.watchAll(); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

// watch gives w its inotify instance, watching w.dir for mask.
func watch(w *Watcher, mask uint32) (*Watcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// Non-blocking, so reads go through Go's poller and honour deadlines.
	w.f, w.fd, w.units = os.NewFile(uintptr(fd), "inotify"), fd, map[int]string{}
	if w.top, err = syscall.InotifyAddWatch(fd, w.dir, mask); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("watching %s: %w", w.dir, err)
	}
	return w, nil
}

// unitOf returns the unit whose drop-in directory name is, if it is one
// of interest.
func (w *Watcher) unitOf(name string) (string, bool) {
	unit, ok := strings.CutSuffix(name, ".d")
	return unit, ok && w.match(unit)
}

// watchAll adds a watch on every UNIT.d of interest (again: adding one
// twice is harmless) and returns their units.
func (w *Watcher) watchAll() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", w.dir, err)
	}
	for _, e := range entries {
		if unit, ok := w.unitOf(e.Name()); ok && e.IsDir() {
			w.watchUnit(unit, e.Name())
		}
	}
	return nil
}

// watchUnit watches one UNIT.d. A directory that went again, or a watch
// the kernel refuses (fs.inotify.max_user_watches), is not fatal: the
// directory's coming and going is still seen through its parent.
func (w *Watcher) watchUnit(unit, name string) {
	wd, err := syscall.InotifyAddWatch(w.fd, filepath.Join(w.dir, name), subdirMask)
	switch {
	case err == nil:
		w.units[wd] = unit
	case errors.Is(err, syscall.ENOSPC) && !w.full:
		w.full = true
		w.log.Warn("out of inotify watches (fs.inotify.max_user_watches); edits inside some drop-in directories show only after a daemon-reload, ignoring",
			zap.String("unit", unit), zap.Error(err))
	case !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOSPC):
		w.log.Warn("watching drop-in directory, ignoring", zap.String("unit", unit), zap.Error(err))
	}
}

// Close stops a watcher that never ran.
func (w *Watcher) Close() error { return w.f.Close() }

// Run reports changes until ctx ends: changed gets the units whose UNIT.d
// changed, or nil when anything may have (the kernel dropped events), and
// returns those it could not look at yet, which come again in the next
// report. It is called from Run's goroutine, one burst at a time; changes
// meanwhile are gathered for the next call. Run closes the watcher when it
// returns: nil when ctx ended, an error when the watch is lost.
func (w *Watcher) Run(ctx context.Context, changed func(ctx context.Context, units []string) (later []string)) error {
	defer w.f.Close()
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 64*1024)
	pending := map[string]bool{}
	all := false
	var first, last time.Time
	for {
		var deadline time.Time // none while nothing is pending
		if all || len(pending) > 0 {
			deadline = last.Add(quiet)
			if limit := first.Add(maxDelay); limit.Before(deadline) {
				deadline = limit
			}
		}
		if err := w.f.SetReadDeadline(deadline); err != nil {
			return fmt.Errorf("inotify: %w", err)
		}
		// After the deadline is set: a cancel from now on overrides it.
		if ctx.Err() != nil {
			return nil
		}
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			units := make([]string, 0, len(pending))
			for u := range pending {
				units = append(units, u)
			}
			if all {
				units = nil
			}
			clear(pending)
			all = false
			for _, u := range changed(ctx, units) {
				pending[u] = true
			}
			first, last = time.Now(), time.Now()
			continue
		}
		if err != nil {
			return fmt.Errorf("reading inotify events: %w", err)
		}
		now := time.Now()
		if !all && len(pending) == 0 {
			first = now
		}
		last = now
		overflow, err := w.parse(buf[:n], pending)
		if err != nil {
			return err
		}
		all = all || overflow

	}
}

// parse records the units that events name; overflow when the kernel's
// queue overflowed, so that only a full rescan can tell what changed. An
// error means the watch is lost (the directory went, or was unmounted, or
// cannot be rescanned): the caller cannot go on blind.
func (w *Watcher) parse(buf []byte, pending map[string]bool) (overflow bool, err error) {
	err = inotify.Each(buf, func(wd int, mask uint32, name string) error {
		switch {
		case mask&syscall.IN_Q_OVERFLOW != 0:
			overflow = true
			if w.file != nil {
				return nil
			}
			if err := w.watchAll(); err != nil {
				return fmt.Errorf("rescanning after lost events: %w", err)
			}
		case wd == w.top && mask&syscall.IN_IGNORED != 0:
			return fmt.Errorf("%w: %s was removed or unmounted", ErrLost, w.dir)
		case wd == w.top && w.file != nil:
			if key, ok := w.file(name); ok && mask&syscall.IN_ISDIR == 0 {
				pending[key] = true
			}
		case wd == w.top:
			unit, ok := w.unitOf(name)
			if !ok || mask&syscall.IN_ISDIR == 0 {
				return nil
			}
			if mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0 {
				w.watchUnit(unit, name)
			}
			pending[unit] = true
		case mask&syscall.IN_IGNORED != 0:
			delete(w.units, wd) // its directory went
		default:
			if unit, ok := w.units[wd]; ok {
				pending[unit] = true
			}
		}
		return nil
	})
	return overflow, err
}
