package apiblock

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden file")

// The block of an interface with every kind of member, argument direction,
// access and annotation, against the golden file (go test -update rewrites it).
func TestRender(t *testing.T) {
	ifaces, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(ifaces, "/org/example/Thing", []string{"org.example.Thing", "org.freedesktop.DBus.ObjectManager"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "example.block")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("block differs from %s:\n%s", golden, got)
	}
}

// An interface the page names but no XML defines is an error, not a gap.
func TestRenderUnknownInterface(t *testing.T) {
	ifaces, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(ifaces, "/x", []string{"org.example.Missing"}); err == nil {
		t.Error("rendering an interface no XML defines succeeded")
	}
}

func TestDirective(t *testing.T) {
	for line, want := range map[string]bool{
		"@introspect /a b.C":        true,
		"@introspect /a":            false,
		"text @introspect /a b.C":   false,
		"  @introspect /a b.C d.E ": true,
	} {
		if _, _, ok := Directive(line); ok != want {
			t.Errorf("Directive(%q) = %v, want %v", line, ok, want)
		}
	}
}
