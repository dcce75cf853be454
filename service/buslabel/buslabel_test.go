package buslabel

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

// The expected labels were read from a real systemd 252: the object path
// LoadUnit returned for "X" is /org/freedesktop/systemd1/unit/<label of X>.
// tests/realsystemd checks the same rule against systemd at run time.
func TestEscapeMatchesSystemd(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"snapm-create@0ab_c:d.e-f.timer": "snapm_2dcreate_400ab_5fc_3ad_2ee_2df_2etimer",
		"snapm-gc@hourly.timer":          "snapm_2dgc_40hourly_2etimer",
		"dbus.service":                   "dbus_2eservice",
		"0ab_c:d.e-f":                    "_30ab_5fc_3ad_2ee_2df",
		"9":                              "_39",
		"a9":                             "a9",
		"":                               "_",
		"Z_z":                            "Z_5fz",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEscape checks what both adapters rely on: whatever a name holds, its
// label is one valid object-path element, and distinct names never share a
// label (so no two objects can collide on one path).
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a", "0ab_c:d.e-f", "../x", "a/b", "ünï", "\xff\xfe", "_2d", "-"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		la := Escape(a)
		if p := dbus.ObjectPath("/x/" + la); !p.IsValid() {
			t.Fatalf("label %q of %q makes the invalid path %q", la, a, p)
		}
		if a != b && la == Escape(b) {
			t.Fatalf("%q and %q share the label %q", a, b, la)
		}
	})
}
