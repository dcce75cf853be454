package timers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestStore(t *testing.T) {
	t.Parallel()
	s := &store{dir: t.TempDir()}
	a := record{Type: TypeCreate, Name: "a", Spec: "daily"}
	b := record{Type: TypeGC, Name: "b:c", Spec: "Mon 08:00"}
	for _, r := range []record{a, b, {Type: TypeCreate, Name: "a", Spec: "hourly"}} {
		if err := s.put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.remove(b.key()); err != nil {
		t.Fatal(err)
	}
	if err := s.remove(b.key()); err != nil {
		t.Errorf("removing a removed timer: %v", err)
	}
	got, _, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if want := []record{{Type: TypeCreate, Name: "a", Spec: "hourly"}}; !slices.Equal(got, want) {
		t.Errorf("load: %v, want %v", got, want)
	}
}

// TestStoreMigratesLegacyDocument: the first version's timers.json is
// split into records once and removed.
func TestStoreMigratesLegacyDocument(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	legacy := `{"version": 1, "timers": [{"type": "gc", "name": "old", "calendarspec": "weekly"}]}`
	if err := os.WriteFile(filepath.Join(dir, "timers.json"), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &store{dir: dir}
	got, _, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if want := []record{{Type: TypeGC, Name: "old", Spec: "weekly"}}; !slices.Equal(got, want) {
		t.Errorf("load: %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "timers.json")); !os.IsNotExist(err) {
		t.Errorf("the legacy document is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "timers", "snapm-gc@old.timer")); err != nil {
		t.Errorf("no record file: %v", err)
	}
}
