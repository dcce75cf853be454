package dropin

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// Not parallel: the umask is the process's.
func TestWriteContentAndMode(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077) // a strict umask must not change the mode
	t.Cleanup(func() { syscall.Umask(old) })
	if err := Write(dir, "snapm-create@x.timer", "Thu,Fri *-*-1,5 11:12:13"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "snapm-create@x.timer.d", "10-oncalendar.conf")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "[Timer]\n# Reset the OnCalendar list\nOnCalendar=\n# Configure OnCalendar for this template instance.\nOnCalendar=Thu,Fri *-*-1,5 11:12:13\n"
	if string(got) != want {
		t.Errorf("content:\n%q\nwant\n%q", got, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("drop-in dir holds %d entries, want only the drop-in", len(entries))
	}
}

func TestWriteRefusesUnsafeInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for desc, tc := range map[string]struct{ unit, spec string }{
		"a slash in the unit":   {unit: "../escape.timer", spec: "daily"},
		"the parent as unit":    {unit: "..", spec: "daily"},
		"a section in the spec": {unit: "snapm-create@x.timer", spec: "daily\n[Service]\nExecStart=/bin/evil"},
		"a NUL in the spec":     {unit: "snapm-create@x.timer", spec: "daily\x00"},
	} {
		if err := Write(dir, tc.unit, tc.spec); err == nil {
			t.Errorf("%s: Write(%q, %q) succeeded", desc, tc.unit, tc.spec)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("refused writes left %d entries behind", len(entries))
	}
}

// A reader racing the writer sees one complete version or the other, never
// a torn or empty file.
func TestWriteIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const unit = "snapm-gc@x.timer"
	specs := []string{"daily", "Mon..Fri *-*-* 08:00:00 Europe/Berlin"}
	if err := Write(dir, unit, specs[0]); err != nil {
		t.Fatal(err)
	}
	valid := [][]byte{Content(specs[0]), Content(specs[1])}
	var stop atomic.Bool
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			data, err := os.ReadFile(Path(dir, unit))
			reads.Add(1)
			if err != nil || (!bytes.Equal(data, valid[0]) && !bytes.Equal(data, valid[1])) {
				bad.Add(1)
			}
		}
	}()
	// The reader must read while the writes go on, or the test shows
	// nothing: it is under way before the first and counted after.
	for reads.Load() == 0 {
		runtime.Gosched()
	}
	before := reads.Load()
	for i := 0; i < 300; i++ {
		if err := Write(dir, unit, specs[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	during := reads.Load() - before
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of %d reads saw a missing or partial drop-in", bad.Load(), reads.Load())
	}
	if during == 0 {
		t.Error("no read ran during the writes")
	}
}

func TestRemoveKeepsForeignFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Write(dir, "snapm-create@a.timer", "daily"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "snapm-create@a.timer"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(dir, "snapm-create@a.timer")); !os.IsNotExist(err) {
		t.Errorf("drop-in directory still there: %v", err)
	}
	if err := Remove(dir, "snapm-create@a.timer"); err != nil {
		t.Errorf("second Remove: %v", err)
	}

	if err := Write(dir, "snapm-create@b.timer", "daily"); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(Dir(dir, "snapm-create@b.timer"), "20-admin.conf")
	if err := os.WriteFile(foreign, []byte("[Timer]\nPersistent=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "snapm-create@b.timer"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("an admin's drop-in was removed: %v", err)
	}
	if _, ok, _ := Read(dir, "snapm-create@b.timer"); ok {
		t.Error("our drop-in is still there")
	}
}

func TestScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for unit, spec := range map[string]string{"snapm-create@a.timer": "hourly", "snapm-gc@b.timer": "Sat,Sun 08:05:40"} {
		if err := Write(dir, unit, spec); err != nil {
			t.Fatal(err)
		}
	}
	// Not ours, or not complete: ignored.
	for _, d := range []string{filepath.Join(dir, "other.timer.d"), Dir(dir, "snapm-create@empty.timer"), Dir(dir, "snapm-create@c.timer")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// As an admin might write it by hand: the last OnCalendar= counts.
	if err := os.WriteFile(Path(dir, "snapm-create@c.timer"), []byte("[Timer]\nOnCalendar=daily\n OnCalendar = weekly \n[Unit]\nOnCalendar=bogus\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := Scan(dir, "snapm-create@", "snapm-gc@")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"snapm-create@a.timer": "hourly", "snapm-gc@b.timer": "Sat,Sun 08:05:40", "snapm-create@c.timer": "weekly"}
	if len(got) != len(want) {
		t.Fatalf("Scan = %v, want %v", got, want)
	}
	for _, e := range got {
		if want[e.Unit] != e.Spec {
			t.Errorf("Scan: %s = %q, want %q", e.Unit, e.Spec, want[e.Unit])
		}
	}
}

// TestScanListsBadFiles: a drop-in that cannot be read, or sets no
// expression, is listed with its error, and the others are still found.
func TestScanListsBadFiles(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, "snapm-create@good.timer", "hourly"); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"snapm-gc@reset.timer":    []byte("[Timer]\nOnCalendar=\n"),
		"snapm-gc@empty.timer":    {},
		"snapm-gc@long.timer":     []byte("[Timer]\n#" + strings.Repeat("x", maxSize+1) + "\nOnCalendar=daily\n"),
		"snapm-create@dir.timer":  nil, // the drop-in is a directory
		"snapm-create@junk.timer": {0xff, 0xfe, 0},
	}
	for unit, data := range bad {
		if err := os.MkdirAll(Dir(dir, unit), 0o755); err != nil {
			t.Fatal(err)
		}
		if data == nil {
			os.Mkdir(Path(dir, unit), 0o755)
			continue
		}
		if err := os.WriteFile(Path(dir, unit), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Longer than 64 KiB but within systemd's limit: read.
	long := "snapm-create@longcomment.timer"
	os.MkdirAll(Dir(dir, long), 0o755)
	os.WriteFile(Path(dir, long), []byte("[Timer]\n#"+strings.Repeat("x", 100_000)+"\nOnCalendar=weekly\n"), 0o644)

	got, err := Scan(dir, "snapm-create@", "snapm-gc@")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]Entry{}
	for _, e := range got {
		found[e.Unit] = e
	}
	if e := found["snapm-create@good.timer"]; e.Spec != "hourly" || e.Err != nil {
		t.Errorf("good drop-in: %+v", e)
	}
	if e := found[long]; e.Spec != "weekly" || e.Err != nil {
		t.Errorf("drop-in with a 100,000-byte comment: %+v", e)
	}
	for unit := range bad {
		if e, ok := found[unit]; !ok || e.Err == nil || e.Spec != "" {
			t.Errorf("%s: listed as %+v (listed: %t), want its error", unit, e, ok)
		}
	}
}
