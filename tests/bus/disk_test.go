package bus

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// mountTmpfs puts a small tmpfs over dir for the rest of the test.
func mountTmpfs(t *testing.T, dir string, flags uintptr, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "mode=0755,size="+size); err != nil {
		t.Fatalf("mounting a tmpfs on %s (root needed): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
}

// fill writes into dir until its file system is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// snapmFiles lists what is under the unit directory besides the filler.
func (e *env) snapmFiles() []string {
	var out []string
	for _, p := range e.leftovers() {
		if filepath.Base(p) != "filler" {
			out = append(out, strings.TrimPrefix(p, e.unitDir+"/"))
		}
	}
	return out
}

// TestReadOnlyUnitDirectory: Enable fails with IOError, and neither the
// disk nor systemd changes.
func TestReadOnlyUnitDirectory(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	path := e.create("readonly")
	mountTmpfs(t, e.unitDir, syscall.MS_RDONLY, "64k")
	err := e.call(path, timerIf+".Enable").Err
	if got := errName(err); got != errPrefix+"IOError" || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Enable on a read-only unit directory: %s %v", got, err)
	}
	if got := e.status(path); got != "disabled" {
		t.Errorf("status %s", got)
	}
	if e.fake.Calls("EnableUnitFiles") != 0 {
		t.Error("systemd was asked to enable a unit whose drop-in could not be written")
	}
}

// TestFullUnitDirectory: with the file system full, a new drop-in is not
// half-written (no file, no empty directory, no temporary), and a changed
// schedule keeps the old drop-in whole.
func TestFullUnitDirectory(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	mountTmpfs(t, e.unitDir, 0, "64k")
	old := e.create("full-old")
	if err := e.call(old, timerIf+".Enable").Err; err != nil {
		t.Fatal(err)
	}
	oldContent, err := os.ReadFile(dropin.Path(e.unitDir, "snapm-create@full-old.timer"))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, e.unitDir)

	err = e.call(old, timerIf+".SetCalendarSpec", "Mon..Fri 08:00").Err
	if got := errName(err); got != errPrefix+"IOError" || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("SetCalendarSpec on a full disk: %s %v", got, err)
	}
	if now, _ := os.ReadFile(dropin.Path(e.unitDir, "snapm-create@full-old.timer")); string(now) != string(oldContent) {
		t.Errorf("the drop-in changed to %q", now)
	}
	if v, _ := e.conn.Object(busName, old).GetProperty(timerIf + ".CalendarSpec"); v.Value() != "hourly" {
		t.Errorf("CalendarSpec is %v after a failed change", v.Value())
	}

	fresh := e.create("full-new")
	err = e.call(fresh, timerIf+".Enable").Err
	if got := errName(err); got != errPrefix+"IOError" {
		t.Fatalf("Enable on a full disk: %s %v", got, err)
	}
	if got := e.status(fresh); got != "disabled" {
		t.Errorf("status %s after a failed Enable", got)
	}
	if files, want := e.snapmFiles(), []string{"snapm-create@full-new.timer.d", "snapm-create@full-old.timer.d", "snapm-create@full-old.timer.d/" + dropin.FileName}; !slices.Equal(files, want) {
		t.Errorf("unit directory holds %v, want %v: full-old's drop-in and the empty directory CreateTimer made for full-new", files, want)
	}
	if e.fake.Enabled("snapm-create@full-new.timer") {
		t.Error("a unit whose drop-in could not be written was enabled")
	}
}
