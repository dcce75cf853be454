package zonewatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The file's replacement (a symlink renamed into place, as timedatectl
// does), its rewriting and its removal are seen; other names in the
// directory are not.
func TestSeesReplacement(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "localtime")
	if err := os.Symlink("/usr/share/zoneinfo/UTC", path); err != nil {
		t.Fatal(err)
	}
	w, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func() { changes <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for _, step := range []struct {
		name string
		do   func() error
		seen bool
	}{
		{"another name", func() error { return os.WriteFile(filepath.Join(dir, "hostname"), []byte("x"), 0o644) }, false},
		{"symlink renamed into place", func() error {
			tmp := filepath.Join(dir, ".#localtime")
			if err := os.Symlink("/usr/share/zoneinfo/Europe/Berlin", tmp); err != nil {
				return err
			}
			return os.Rename(tmp, path)
		}, true},
		{"removed", func() error { return os.Remove(path) }, true},
		{"written", func() error { return os.WriteFile(path, []byte("TZif"), 0o644) }, true},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changes:
			if !step.seen {
				t.Errorf("%s: reported as a change", step.name)
			}
			for len(changes) > 0 { // one step may be several events
				<-changes
			}
		case <-time.After(map[bool]time.Duration{true: 10 * time.Second, false: 200 * time.Millisecond}[step.seen]):
			if step.seen {
				t.Errorf("%s: not reported", step.name)
			}
		}
	}
}
