package schedule

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// syncEvent is one call of syncFile: the file's path, and what was on
// disk when it came (a file's content, or a directory's names).
type syncEvent struct {
	path    string
	dir     bool
	content string
	names   []string
}

// recordSyncs replaces syncFile for the test with one that records each
// sync, and fails (after recording) when fail says so.
func recordSyncs(t *testing.T, fail func(syncEvent) bool) *[]syncEvent {
	t.Helper()
	var events []syncEvent
	saved := syncFile
	t.Cleanup(func() { syncFile = saved })
	syncFile = func(f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		e := syncEvent{path: f.Name(), dir: st.IsDir()}
		if e.dir {
			e.names = dirNames(t, f.Name())
		} else {
			data, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			e.content = string(data)
		}
		events = append(events, e)
		if fail != nil && fail(e) {
			return syscall.EIO
		}
		return f.Sync()
	}
	return &events
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestWriteSyncs checks snapm's order: the data synced in a temporary file
// in dir, then renamed, then dir synced with the new entry in it, and
// nothing of the write changing dir after that sync.
func TestWriteSyncs(t *testing.T) {
	dir := t.TempDir()
	s := goldens["timeline"]
	for _, existing := range []bool{false, true} { // a new file, then a replacement
		events := recordSyncs(t, nil)
		if err := Write(dir, s); err != nil {
			t.Fatal(err)
		}
		if len(*events) != 2 {
			t.Fatalf("existing %v: %d syncs, want the data's and the directory's: %+v", existing, len(*events), *events)
		}
		data, dirSync := (*events)[0], (*events)[1]
		if data.dir || filepath.Dir(data.path) != dir || data.content != string(s.Marshal()) ||
			strings.HasSuffix(data.path, ".json") {
			t.Errorf("first sync %+v, want the whole data in a temporary file of %s that snapm does not load", data, dir)
		}
		if !dirSync.dir || dirSync.path != dir {
			t.Errorf("second sync %+v, want the directory %s", dirSync, dir)
		}
		names := dirNames(t, dir)
		if !slices.Equal(dirSync.names, names) || !slices.Equal(names, []string{"timeline.json"}) {
			t.Errorf("the directory synced with %v, holds %v after Write, want timeline.json alone", dirSync.names, names)
		}
	}
}

func TestWriteFileMode(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	if err := os.WriteFile(Path(dir, "count"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"count", "age"} { // replaced, new
		if err := Write(dir, goldens[name]); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(Path(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != 0o644 {
			t.Errorf("%s has mode %v, want 0644 as snapm writes it", name, st.Mode())
		}
		data, _ := os.ReadFile(Path(dir, name))
		if !bytes.Equal(data, goldens[name].Marshal()) {
			t.Errorf("%s holds %q, want Marshal's bytes", name, data)
		}
	}
}

// TestWriteFailure checks that a failed write leaves the old file and no
// temporary file, and says so.
func TestWriteFailure(t *testing.T) {
	for _, failDir := range []bool{false, true} {
		t.Run(map[bool]string{false: "data sync", true: "directory sync"}[failDir], func(t *testing.T) {
			dir := t.TempDir()
			old := goldens["count"]
			if err := Write(dir, old); err != nil {
				t.Fatal(err)
			}
			recordSyncs(t, func(e syncEvent) bool { return e.dir == failDir })
			if err := Write(dir, old.WithCalendarSpec("weekly")); !errors.Is(err, syscall.EIO) {
				t.Errorf("Write = %v, want EIO", err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"count.json"}) {
				t.Errorf("%s holds %v, want count.json alone", dir, names)
			}
			if data, _ := os.ReadFile(Path(dir, "count")); !failDir && !bytes.Equal(data, old.Marshal()) {
				t.Errorf("a failed data sync replaced the file: %s", data)
			}
		})
	}
}

func TestWriteRefusesUnsafeNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../x", "a/b", "a\x00b"} {
		s := goldens["all"]
		s.Name = name
		if err := Write(dir, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Write of %q: %v, want ErrInvalid", name, err)
		}
		if err := Remove(dir, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Remove of %q: %v, want ErrInvalid", name, err)
		}
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("%s holds %v", dir, names)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, goldens["all"]); err != nil {
		t.Fatal(err)
	}
	events := recordSyncs(t, nil)
	if err := Remove(dir, "all"); err != nil {
		t.Fatal(err)
	}
	if len(*events) != 1 || !(*events)[0].dir || len((*events)[0].names) != 0 {
		t.Errorf("syncs %+v, want one of the directory, after the file went", *events)
	}
	if err := Remove(dir, "all"); err != nil {
		t.Errorf("Remove of a missing file: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	for _, s := range goldens {
		if err := Write(dir, s); err != nil {
			t.Fatalf("Write %s: %v", s.Name, err)
		}
	}
	good := string(goldens["count"].Marshal())
	bad := map[string]string{ // file name: content, each a file snapm cannot load
		"bad.json":     `{"name": `,
		"missing.json": strings.Replace(good, `"revert": false,`, "", 1),
		"unknown.json": strings.Replace(good, `"COUNT"`, `"WEEKLY"`, 1),
		"array.json":   "[]",
		"empty.json":   "",
		"latin1.json":  strings.Replace(good, "/var", "/caf\xe9", 1),
	}
	other := map[string]string{ // no schedules: not named *.json
		"notes.txt":        good,
		".tmp_k2j3h4":      good, // snapm's write_config in flight
		"count.json~":      good,
		"count.JSON":       good,
		".snapm-timersd-x": good,
	}
	files := maps.Clone(bad)
	maps.Copy(files, other)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("count.json", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "huge.json"), make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}

	schedules, errs := Load(dir)
	for name, want := range goldens {
		if got, ok := schedules[name+".json"]; !ok || !got.Equal(want) {
			t.Errorf("Load[%s.json] = %#v, want %#v", name, got, want)
		}
	}
	if len(schedules) != len(goldens) {
		t.Errorf("Load has %d schedules, want %d", len(schedules), len(goldens))
	}
	wantErrs := []string{"dir.json", "fifo.json", "huge.json", "link.json"}
	for name := range bad {
		wantErrs = append(wantErrs, name)
	}
	slices.Sort(wantErrs)
	var gotErrs []string
	for name, err := range errs {
		gotErrs = append(gotErrs, name)
		if err == nil || err.Error() == "" {
			t.Errorf("%s: no reason", name)
		}
		if _, isBad := bad[name]; isBad && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	slices.Sort(gotErrs)
	if !slices.Equal(gotErrs, wantErrs) {
		t.Errorf("Load errors for %v, want %v", gotErrs, wantErrs)
	}
}

func TestLoadMissingDir(t *testing.T) {
	schedules, errs := Load(filepath.Join(t.TempDir(), "none"))
	if len(schedules) != 0 || len(errs) != 0 {
		t.Errorf("Load of a missing directory = %v, %v, want nothing", schedules, errs)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs := Load(file); errs[""] == nil || errors.Is(errs[""], fs.ErrNotExist) {
		t.Errorf("Load of a file: errors %v, want the reason under \"\"", errs)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, goldens["age"]); err != nil {
		t.Fatal(err)
	}
	if s, err := Read(dir, "age"); err != nil || !s.Equal(goldens["age"]) {
		t.Errorf("Read = %#v, %v, want the schedule written", s, err)
	}
	if _, err := Read(dir, "none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing schedule: %v, want fs.ErrNotExist", err)
	}
	if err := syscall.Mkfifo(Path(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, "fifo"); err == nil {
		t.Error("Read of a FIFO succeeded")
	}
	if err := os.WriteFile(Path(dir, "bad"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, "bad"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("Read of a bad file: %v, want ErrInvalid naming the file", err)
	}
	if _, err := Read(dir, "../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read of ../x: %v, want ErrInvalid", err)
	}
}
