package unitwatch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

// run starts a watcher on dir for units named "x@*.timer" and returns the
// bursts it reports, and a stop that waits for Run to return. later, if
// not nil, says what the nth report (from 1) hands back.
func run(t *testing.T, dir string, later func(n int, units []string) []string) (<-chan []string, func()) {
	t.Helper()
	w, err := New(dir, func(unit string) bool { return strings.HasPrefix(unit, "x@") && strings.HasSuffix(unit, ".timer") }, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bursts := make(chan []string, 16)
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- w.Run(ctx, func(_ context.Context, units []string) []string {
			slices.Sort(units)
			bursts <- units
			n++
			if later == nil {
				return nil
			}
			return later(n, units)
		})
	}()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	return bursts, stop
}

func next(t *testing.T, bursts <-chan []string) []string {
	t.Helper()
	select {
	case b := <-bursts:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no burst reported")
		return nil
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// As atomic writers do it: a temporary file renamed into place.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReportsUnitsOnce(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x@old.timer.d", "10-oncalendar.conf"), "a")
	bursts, stop := run(t, dir, nil)
	defer stop()

	// Steps in order: each builds on the directory the last one left.
	for _, step := range []struct {
		name string
		do   func()
		want []string
	}{
		{"a new UNIT.d and its file, one burst", func() {
			write(t, filepath.Join(dir, "x@new.timer.d", "10-oncalendar.conf"), "b")
		}, []string{"x@new.timer"}},
		{"an edit in a UNIT.d that was there before", func() {
			write(t, filepath.Join(dir, "x@old.timer.d", "10-oncalendar.conf"), "c")
		}, []string{"x@old.timer"}},
		{"an edit in place", func() {
			if err := os.WriteFile(filepath.Join(dir, "x@new.timer.d", "10-oncalendar.conf"), []byte("d"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"x@new.timer"}},
		{"the drop-in deleted from a UNIT.d that stays", func() {
			if err := os.Remove(filepath.Join(dir, "x@new.timer.d", "10-oncalendar.conf")); err != nil {
				t.Fatal(err)
			}
		}, []string{"x@new.timer"}},
		{"a UNIT.d deleted, others and unrelated ones ignored", func() {
			write(t, filepath.Join(dir, "y@other.timer.d", "10-oncalendar.conf"), "e")
			write(t, filepath.Join(dir, "x@file.timer"), "not a directory")
			if err := os.RemoveAll(filepath.Join(dir, "x@old.timer.d")); err != nil {
				t.Fatal(err)
			}
		}, []string{"x@old.timer"}},
		{"two units in one burst", func() {
			write(t, filepath.Join(dir, "x@a.timer.d", "10-oncalendar.conf"), "f")
			write(t, filepath.Join(dir, "x@new.timer.d", "10-oncalendar.conf"), "g")
		}, []string{"x@a.timer", "x@new.timer"}},
	} {
		step.do()
		if got := next(t, bursts); !slices.Equal(got, step.want) {
			t.Errorf("%s: reported %q, want %q", step.name, got, step.want)
		}
	}
}

// TestLostWatchEndsRun: once the directory itself goes (removed, or
// unmounted), nothing more can be seen in it; Run says so rather than
// carry on blind.
func TestLostWatchEndsRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "system")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := New(dir, func(string) bool { return true }, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), func(context.Context, []string) []string { return nil }) }()
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrLost) {
			t.Errorf("Run = %v, want ErrLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run carried on after its directory went")
	}
}

func TestStopsWithContext(t *testing.T) {
	_, stop := run(t, t.TempDir(), nil)
	stop() // hangs (and the test times out) if Run ignores the context
}

// TestOverflowAsksForEverything: when the kernel drops events, nothing
// tells which units changed; the report says anything may have.
func TestOverflowAsksForEverything(t *testing.T) {
	w := &Watcher{dir: t.TempDir(), match: func(string) bool { return true }, log: zap.NewNop(), fd: -1, top: 1, units: map[int]string{}}
	ev := syscall.InotifyEvent{Wd: -1, Mask: syscall.IN_Q_OVERFLOW}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&ev)), syscall.SizeofInotifyEvent)
	pending := map[string]bool{}
	if overflow, err := w.parse(buf, pending); !overflow || err != nil || len(pending) != 0 {
		t.Errorf("overflow event: parse says overflow=false or names %v", pending)
	}
}

// TestLaterComesAgain: the units a report hands back come again, with no
// new event for them.
func TestLaterComesAgain(t *testing.T) {
	dir := t.TempDir()
	bursts, stop := run(t, dir, func(n int, units []string) []string {
		if n == 1 {
			return units // busy the first time
		}
		return nil
	})
	defer stop()
	write(t, filepath.Join(dir, "x@busy.timer.d", "10-oncalendar.conf"), "a")
	for i := range 2 {
		if got := next(t, bursts); !slices.Equal(got, []string{"x@busy.timer"}) {
			t.Errorf("report %d: %q", i+1, got)
		}
	}
}
