// Package zonewatch tells when the system's time zone may have changed:
// timedatectl set-timezone, and anyone else, replaces /etc/localtime (a
// symlink, renamed into place) or rewrites it. It watches the directory,
// as systemd does, since a watch on the file would follow the symlink and
// miss its replacement.
package zonewatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/snapm/snapm-timersd/service/inotify"
)

const mask = syscall.IN_CREATE | syscall.IN_MOVED_TO | syscall.IN_DELETE | syscall.IN_MOVED_FROM |
	syscall.IN_CLOSE_WRITE | syscall.IN_ATTRIB | syscall.IN_ONLYDIR

// Watcher watches one file's name in its directory.
type Watcher struct {
	f    *os.File
	name string
}

// New starts watching path (its directory, for its name). Create it before
// reading the file, so that no change falls between the read and the
// watch.
func New(path string) (*Watcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := syscall.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		f.Close()
		return nil, fmt.Errorf("watching %s: %w", filepath.Dir(path), err)
	}
	return &Watcher{f: f, name: filepath.Base(path)}, nil
}

// Run calls changed after each batch of events that names the file, and
// when the kernel dropped events (any of them might have), until ctx ends
// (nil) or the watch fails. It closes the watcher when it returns.
func (w *Watcher) Run(ctx context.Context, changed func()) error {
	defer w.f.Close()
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 16*1024)
	for {
		n, err := w.f.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading inotify events: %w", err)
		}
		if names(buf[:n], w.name) {
			changed()
		}
	}
}

// names tells whether the events in buf name name, or were dropped.
func names(buf []byte, name string) bool {
	found := errors.New("found")
	return inotify.Each(buf, func(_ int, mask uint32, got string) error {
		if got == name || mask&syscall.IN_Q_OVERFLOW != 0 {
			return found
		}
		return nil
	}) != nil
}

// Close stops a watcher that never ran.
func (w *Watcher) Close() error { return w.f.Close() }
