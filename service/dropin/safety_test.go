package dropin

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// names lists dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// created watches dir and returns what reports every name that appeared
// in it since.
func created(t *testing.T, dir string) func() []string {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		var out []string
		buf := make([]byte, 1<<16)
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EAGAIN {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off < n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				out = append(out, strings.TrimRight(string(name), "\x00"))
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

// TestUnitDirHoldsOnlyTheDropIn: snapm disables a timer by removing the
// drop-in and then rmdir'ing UNIT.d, so nothing else may ever appear
// there, not even for the moment of a write.
func TestUnitDirHoldsOnlyTheDropIn(t *testing.T) {
	unitDir := t.TempDir()
	const unit = "snapm-create@only.timer"
	if err := Write(unitDir, unit, "daily"); err != nil {
		t.Fatal(err)
	}
	seen := created(t, Dir(unitDir, unit))
	for i, spec := range []string{"weekly", "hourly", "Sat,Sun 08:05:40", "daily"} {
		if err := Write(unitDir, unit, spec); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for _, name := range seen() {
		if name != FileName {
			t.Errorf("%s appeared in UNIT.d during a write", name)
		}
	}
	if got := names(t, Dir(unitDir, unit)); !slices.Equal(got, []string{FileName}) {
		t.Errorf("UNIT.d holds %q, want only %s", got, FileName)
	}
	if got := names(t, unitDir); !slices.Equal(got, []string{unit + ".d"}) {
		t.Errorf("unit directory holds %q after the writes, want only the drop-in's directory", got)
	}
}

// TestCleanLeftovers: the temporary files a crash mid-write leaves in the
// unit directory go in the scan at start-up, and nothing else does; it
// finds what Scan finds.
func TestCleanLeftovers(t *testing.T) {
	unitDir := t.TempDir()
	outside := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(unitDir, "snapm-gc@kept.timer", "daily"); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{
		filepath.Join(unitDir, ".snapm-timersd-1a2b3c"),
		filepath.Join(unitDir, ".snapm-timersd-4d5e"),
	}
	for _, p := range leftovers {
		write(p, "[Timer]\nOnCal")
	}
	kept := []string{
		filepath.Join(unitDir, ".hidden-admin-file"),
		filepath.Join(unitDir, "other.timer.d", ".snapm-timersd-notours"),
		filepath.Join(unitDir, "snapm-gc@admin.timer.d", "20-admin.conf"),
		filepath.Join(outside, ".snapm-timersd-target"),
	}
	for _, p := range kept {
		write(p, "x")
	}
	// A link with a leftover's name is not a leftover, and what it points to
	// is not ours.
	if err := os.Symlink(filepath.Join(outside, ".snapm-timersd-target"), filepath.Join(unitDir, ".snapm-timersd-link")); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, filepath.Join(unitDir, ".snapm-timersd-link"))

	entries, cleanErr, err := ScanAtStart(unitDir, "snapm-create@", "snapm-gc@")
	if err != nil || cleanErr != nil {
		t.Fatal(err, cleanErr)
	}
	scanned, err := Scan(unitDir, "snapm-create@", "snapm-gc@")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Entry{{Unit: "snapm-gc@kept.timer", Spec: "daily"}}; !slices.Equal(entries, want) || !slices.Equal(scanned, want) {
		t.Errorf("found %+v at start, %+v by Scan; want %+v", entries, scanned, want)
	}
	for _, p := range leftovers {
		if exists(p) {
			t.Errorf("leftover %s is still there", p)
		}
	}
	for _, p := range kept {
		if !exists(p) {
			t.Errorf("%s was removed", p)
		}
	}
	if spec, ok, err := Read(unitDir, "snapm-gc@kept.timer"); spec != "daily" || !ok || err != nil {
		t.Errorf("the drop-in next to a leftover: %q, %v, %v", spec, ok, err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestSymlinksRefused: a symlink planted under the unit directory, as
// UNIT.d or as the drop-in, never redirects a write, a read or a removal:
// the call fails (or removes the link itself) and nothing it points to
// is touched.
func TestSymlinksRefused(t *testing.T) {
	const unit = "snapm-create@victim.timer"
	for name, tc := range map[string]struct {
		plant func(t *testing.T, unitDir, outside string)
		// removeOK: Remove may take the planted link away (it is the
		// drop-in's own name), never what it points to.
		removeOK bool
	}{
		"UNIT.d links outside": {plant: func(t *testing.T, unitDir, outside string) {
			symlink(t, outside, Dir(unitDir, unit))
		}},
		"UNIT.d links to another timer's": {plant: func(t *testing.T, unitDir, outside string) {
			if err := Write(unitDir, "snapm-gc@other.timer", "weekly"); err != nil {
				t.Fatal(err)
			}
			symlink(t, Dir(unitDir, "snapm-gc@other.timer"), Dir(unitDir, unit))
		}},
		"drop-in links outside": {removeOK: true, plant: func(t *testing.T, unitDir, outside string) {
			if err := os.Mkdir(Dir(unitDir, unit), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Join(outside, FileName), Path(unitDir, unit))
		}},
	} {
		t.Run(name, func(t *testing.T) {
			unitDir, outside := t.TempDir(), t.TempDir()
			victim := filepath.Join(outside, FileName)
			victimContent := "[Timer]\nOnCalendar=monthly\n"
			if err := os.WriteFile(victim, []byte(victimContent), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, unitDir, outside)
			before := snapshot(t, unitDir, outside)

			if err := Write(unitDir, unit, "daily"); err == nil {
				t.Error("Write through a symlink succeeded")
			}
			if spec, ok, err := Read(unitDir, unit); err == nil {
				t.Errorf("Read through a symlink = %q, %v", spec, ok)
			}
			// Scan lists a linked drop-in with its error, never its content.
			entries, err := Scan(unitDir, "snapm-create@")
			for _, e := range entries {
				if e.Unit == unit && (e.Err == nil || e.Spec != "") {
					t.Errorf("Scan read a drop-in through a symlink: %+v", e)
				}
			}
			if err != nil {
				t.Errorf("Scan: %v", err)
			}
			if after := snapshot(t, unitDir, outside); !maps.Equal(before, after) {
				t.Errorf("refused calls changed the files:\nbefore %v\nafter  %v", before, after)
			}
			err = Remove(unitDir, unit)
			if err != nil && tc.removeOK {
				t.Errorf("Remove of a linked drop-in: %v", err)
			}
			if err == nil && !tc.removeOK {
				t.Error("Remove through a symlinked UNIT.d succeeded")
			}
			if data, err := os.ReadFile(victim); err != nil || string(data) != victimContent {
				t.Errorf("the link's target was touched: %q, %v", data, err)
			}
			if got := names(t, outside); !slices.Equal(got, []string{FileName}) {
				t.Errorf("the link's directory holds %q, want only %s", got, FileName)
			}
		})
	}
}

// TestFIFORefused: a FIFO planted as the drop-in fails the read at once
// instead of blocking it forever.
func TestFIFORefused(t *testing.T) {
	unitDir := t.TempDir()
	const unit = "snapm-gc@fifo.timer"
	if err := os.Mkdir(Dir(unitDir, unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(Path(unitDir, unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(unitDir, unit); err == nil {
		t.Error("Read of a FIFO succeeded")
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every path under the roots to its content (or link target).
func snapshot(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			switch {
			case info.Mode()&os.ModeSymlink != 0:
				target, err := os.Readlink(path)
				out[path] = "-> " + target
				return err
			case info.Mode().IsRegular():
				data, err := os.ReadFile(path)
				out[path] = string(data)
				return err
			}
			out[path] = info.Mode().String()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestWriteIntoMadeDirLeavesUnitDirAlone: once MakeDir made UNIT.d, the
// first drop-in goes in without any name appearing in the unit directory
// (which would make systemd rescan every unit directory at its next
// load), with the same content and mode as ever, whatever the umask, and
// UNIT.d holds only the drop-in.
func TestWriteIntoMadeDirLeavesUnitDirAlone(t *testing.T) {
	unitDir := t.TempDir()
	const unit = "snapm-gc@made.timer"
	if err := MakeDir(unitDir, unit); err != nil {
		t.Fatal(err)
	}
	if err := MakeDir(unitDir, unit); err != nil {
		t.Fatalf("a second MakeDir: %v", err)
	}
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	inUnitDir, inDropInDir := created(t, unitDir), created(t, Dir(unitDir, unit))
	if err := Write(unitDir, unit, "Mon..Fri 08:00"); err != nil {
		t.Fatal(err)
	}
	if got := inUnitDir(); len(got) != 0 {
		t.Errorf("%q appeared in the unit directory", got)
	}
	if got := inDropInDir(); !slices.Equal(got, []string{FileName}) {
		t.Errorf("%q appeared in UNIT.d, want only %s", got, FileName)
	}
	data, err := os.ReadFile(Path(unitDir, unit))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(Content("Mon..Fri 08:00")) {
		t.Errorf("content %q", data)
	}
	if st, err := os.Stat(Path(unitDir, unit)); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
}

// TestRemoveDirOnlyWhenEmpty: the directory MakeDir made goes with the
// timer, unless something is in it.
func TestRemoveDirOnlyWhenEmpty(t *testing.T) {
	unitDir := t.TempDir()
	const unit = "snapm-gc@gone.timer"
	if err := RemoveDir(unitDir, unit); err != nil {
		t.Fatalf("nothing there: %v", err)
	}
	if err := MakeDir(unitDir, unit); err != nil {
		t.Fatal(err)
	}
	if err := RemoveDir(unitDir, unit); err != nil || exists(Dir(unitDir, unit)) {
		t.Fatalf("empty UNIT.d: %v, still there: %v", err, exists(Dir(unitDir, unit)))
	}
	if err := Write(unitDir, unit, "daily"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveDir(unitDir, unit); err != nil || !exists(Path(unitDir, unit)) {
		t.Fatalf("UNIT.d with the drop-in: %v, drop-in still there: %v", err, exists(Path(unitDir, unit)))
	}
}
