package schedule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, and that what it accepts
// comes back the same through Marshal, as valid JSON.
func FuzzParse(f *testing.F) {
	golden, _ := filepath.Glob("testdata/golden/*.json")
	for _, name := range golden {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, r := range verdictRows {
		if r.kind == "file" {
			f.Add([]byte(r.data))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		out := s.Marshal()
		if !json.Valid(out) {
			t.Fatalf("Marshal wrote invalid JSON: %q", out)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
		}
		if !again.Equal(s) {
			t.Fatalf("Parse(Marshal(s)) = %#v, want %#v", again, s)
		}
		if !bytes.Equal(again.Marshal(), out) {
			t.Fatal("Marshal is not stable")
		}
	})
}

// FuzzSourceSpecs checks that the source and size policy checks never
// panic, whatever the text.
func FuzzSourceSpecs(f *testing.F) {
	for _, r := range verdictRows {
		switch r.kind {
		case "size":
			f.Add("/:"+r.policy, "/")
		case "create":
			if len(r.sources) == 2 {
				f.Add(r.sources[0], r.sources[1])
			}
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		_ = checkSources([]string{a, b})
	})
}
