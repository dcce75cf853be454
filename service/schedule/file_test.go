package schedule

import (
	"bytes"
	"os"
	"testing"
)

func TestWriteLoad(t *testing.T) {
	dir := t.TempDir()
	for _, s := range goldens {
		if err := Write(dir, s); err != nil {
			t.Fatalf("Write %s: %v", s.Name, err)
		}
	}
	got, errs := Load(dir)
	if len(errs) != 0 || len(got) != len(goldens) {
		t.Fatalf("Load = %d schedules, errors %v; want %d, none", len(got), errs, len(goldens))
	}
	for name, want := range goldens {
		data, err := os.ReadFile(Path(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want.Marshal()) {
			t.Errorf("%s holds %q, want Marshal's bytes", name, data)
		}
		if s := got[name+".json"]; !s.Equal(want) {
			t.Errorf("Load[%s.json] = %#v, want %#v", name, s, want)
		}
	}
	if err := Remove(dir, "all"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "all"); err != nil {
		t.Errorf("Remove of a missing file: %v", err)
	}
	if got, _ := Load(dir); len(got) != len(goldens)-1 {
		t.Errorf("after Remove, Load has %d schedules", len(got))
	}
}
