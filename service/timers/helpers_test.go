// Helpers several of the domain's test files share: golden files under
// testdata/ (rewritten with -update) and a Create that must succeed.

package timers

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/service/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got, as indented JSON, with testdata/name, or rewrites
// that file with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s differs (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", path, data, want)
	}
}

// fileName makes a golden file's name of a test case's.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '_'
	}, strings.ToLower(name)) + ".json"
}

// writeSchedule writes the schedule file of name in dir, as `snapm
// schedule create` would with calendar spec, one source and the ALL
// policy.
func writeSchedule(t *testing.T, dir, name, spec string) {
	t.Helper()
	s, err := schedule.New(name, []string{"/"}, spec, schedule.Options{"policy_type": "all"})
	if err == nil {
		err = schedule.Write(dir, s)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) schedule(t *testing.T, name, spec string) {
	t.Helper()
	writeSchedule(t, e.schedules, name, spec)
}

// mustCreate creates a timer, and its schedule first: with spec for a
// create timer, with the default calendar for a gc timer.
func mustCreate(t *testing.T, e *env, typ, name, spec string) Snapshot {
	t.Helper()
	calendar := "daily"
	if typ == string(TypeCreate) {
		calendar = spec
	}
	e.schedule(t, name, calendar)
	s, err := e.m.Create(context.Background(), typ, name, spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
