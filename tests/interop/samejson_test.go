package interop

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/snapm/snapm-timersd/tests/nstest"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/snapm-*.json from what the real snapm writes")

// For the same arguments, CreateSchedule writes the very bytes, and mode,
// that `snapm schedule create` writes: for each policy type, with and
// without size policies. What snapm wrote is kept in testdata (facts of
// snapm 0.7), so that a change of snapm shows too.
func TestSameJSONAsSnapm(t *testing.T) {
	conn := connect(t)
	type policy struct {
		args []string
		opts map[string]any
	}
	policies := map[string]policy{
		"all":   {[]string{"--policy-type", "all"}, map[string]any{"policy_type": "all"}},
		"count": {[]string{"--policy-type", "count", "--keep-count", "7"}, map[string]any{"policy_type": "count", "keep_count": uint32(7)}},
		"age": {[]string{"--policy-type", "age", "--keep-weeks", "2", "--keep-days", "7"},
			map[string]any{"policy_type": "age", "keep_weeks": uint32(2), "keep_days": uint32(7)}},
		"timeline": {[]string{"--policy-type", "timeline", "--keep-monthly", "1", "--keep-daily", "7", "--keep-hourly", "3"},
			map[string]any{"policy_type": "timeline", "keep_monthly": uint32(1), "keep_daily": uint32(7), "keep_hourly": uint32(3)}},
	}
	for typ, p := range policies {
		for _, sized := range []bool{false, true} {
			name := "json-" + typ
			sources := []string{"/"}
			args := append([]string{"schedule", "create", "--calendarspec", "Mon..Fri 02:30"}, p.args...)
			opts := map[string]any{}
			for k, v := range p.opts {
				opts[k] = v
			}
			if sized {
				name += "-sized"
				sources = []string{"/:25%FREE", "/var"}
				args = append(args, "--size-policy", "10%SIZE", "--bootable", "--revert")
				opts["default_size_policy"], opts["boot"], opts["revert"] = "10%SIZE", true, true
			}
			t.Run(name, func(t *testing.T) {
				deleteAtEnd(t, name)
				snapm(t, append(append(args, name), sources...)...)
				want, wantMode := readFile(t, schedulePath(name))
				golden := filepath.Join("testdata", "snapm-"+name+".json")
				if *updateGolden {
					if err := os.WriteFile(golden, want, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if g, err := os.ReadFile(golden); err != nil || !bytes.Equal(g, want) {
					t.Errorf("snapm wrote other bytes than %s (%v):\n%s", golden, err, want)
				}
				snapm(t, "schedule", "delete", name)

				path := createSchedule(t, conn, name, sources, "Mon..Fri 02:30", opts)
				got, gotMode := readFile(t, schedulePath(name))
				if !bytes.Equal(got, want) || gotMode != wantMode {
					t.Errorf("CreateSchedule wrote (mode %v):\n%s\nsnapm wrote (mode %v):\n%s", gotMode, got, wantMode, want)
				}
				mustCall(t, conn, nstest.RootPath, nstest.ManagerIf+".DeleteSchedule", path)
			})
		}
	}
}

func readFile(t testing.TB, path string) ([]byte, os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, info.Mode()
}
