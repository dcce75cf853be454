package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/snapm/snapm-timersd/tests/synctrace"
)

// names lists dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	d := open(t, dir)
	list, err := d.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	return list
}

func open(t *testing.T, dir string) *os.File {
	t.Helper()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Write replaces the file whole, with the mode asked for whatever the
// umask, and leaves nothing else in the directory.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, content := range []string{"first", "second, longer", ""} {
		if err := Write(dir, "f.conf", []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "f.conf"))
		if err != nil || string(data) != content {
			t.Errorf("after writing %q: %q, %v", content, data, err)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, "f.conf")); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", info.Mode(), err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f.conf"}) {
		t.Errorf("directory holds %q", got)
	}
}

// ReplaceAt takes its temporary file in another directory: the target
// directory never holds anything but the name.
func TestReplaceAtTempElsewhere(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "u.d")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	r, s := open(t, root), open(t, sub)
	if err := ReplaceAt(r, s, "10.conf", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := names(t, sub); !slices.Equal(got, []string{"10.conf"}) {
		t.Errorf("UNIT.d holds %q", got)
	}
	if got := names(t, root); !slices.Equal(got, []string{"u.d"}) {
		t.Errorf("the temporary file stayed: %q", got)
	}
}

// CreateAt never replaces a name that is there.
func TestCreateAtRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	if err := CreateAt(d, "f", []byte("new"), 0o644); err != nil {
		t.Skipf("no O_TMPFILE here: %v", err)
	}
	if err := CreateAt(d, "f", []byte("other"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateAt over an existing name: %v, want ErrExist", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "f")); string(data) != "new" {
		t.Errorf("content %q, want the first", data)
	}
}

// Nothing is read or opened through a symlink below the directory handle,
// and only regular files of bounded size are read.
func TestRefusesWhatIsNotOurs(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, link := range []struct{ name, target string }{{"file-link", filepath.Join(outside, "secret")}, {"dir-link", outside}} {
		if err := os.Symlink(link.target, filepath.Join(dir, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	d := open(t, dir)
	if _, err := OpenSubdir(d, "dir-link"); err == nil {
		t.Error("OpenSubdir followed a symlink")
	}
	for _, name := range []string{"file-link", "fifo", "big"} {
		if data, err := ReadAt(d, name, 10); err == nil {
			t.Errorf("ReadAt(%s) = %q, want a refusal", name, data)
		}
	}
	if data, err := ReadBelow(d, "dir-link/secret", 10); err == nil {
		t.Errorf("ReadBelow through a symlinked directory = %q, want a refusal", data)
	}
	if data, err := ReadAt(d, "big", 100); err != nil || len(data) != 100 {
		t.Errorf("ReadAt within its bound: %d bytes, %v", len(data), err)
	}
}

// Remove of a missing name is no error.
func TestRemoveMissing(t *testing.T) {
	if err := Remove(open(t, t.TempDir()), "missing"); err != nil {
		t.Errorf("Remove of a missing name: %v", err)
	}
}

// TestWritesSynced: every entry Write and ReplaceAt+SyncDir make is
// fsynced when they return (see tests/synctrace).
func TestWritesSynced(t *testing.T) {
	synctrace.Check(t, "TestWritesSyncedHelper", "write new", "write again", "replace elsewhere")
}

func TestWritesSyncedHelper(t *testing.T) {
	if !synctrace.Helping() {
		t.Skip("run by TestWritesSynced, under strace")
	}
	dir := filepath.Join(synctrace.Root(), "d")
	sub := filepath.Join(dir, "u.d")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, mark := range []string{"write new", "write again"} {
		if err := Write(dir, "f", []byte(mark), 0o644); err != nil {
			t.Fatal(err)
		}
		synctrace.Mark(mark)
	}
	if err := ReplaceAt(open(t, dir), open(t, sub), "g", []byte("g"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(SyncDir(sub), SyncDir(dir)); err != nil {
		t.Fatal(err)
	}
	synctrace.Mark("replace elsewhere")
}
