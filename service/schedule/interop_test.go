package schedule

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// interopDir is where the archives of the real snapm and boom are:
// $SNAPM_INTEROP, or ../shared/interop beside the repository.
func interopDir(t *testing.T) string {
	if dir := os.Getenv("SNAPM_INTEROP"); dir != "" {
		return dir
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "..", "shared", "interop")
}

// snapmPath extracts snapm's and boom's Python packages from their
// archives in dir to a temporary directory and returns it for PYTHONPATH,
// or skips the test when they are not there.
func snapmPath(t *testing.T) string {
	dir := interopDir(t)
	out := t.TempDir()
	for _, a := range []struct{ glob, pkg string }{
		{"snapm-*.tar.gz", "snapm/snapm"},
		{"boom-boot-*.tar.gz", "boom-boot/boom"},
	} {
		archives, _ := filepath.Glob(filepath.Join(dir, a.glob))
		if len(archives) != 1 {
			t.Skipf("snapm 0.7 not compared: no single %s in %s (set SNAPM_INTEROP=DIR)", a.glob, dir)
		}
		if msg, err := exec.Command("tar", "-xzf", archives[0], "-C", out, a.pkg).CombinedOutput(); err != nil {
			t.Fatalf("extracting %s: %v: %s", archives[0], err, msg)
		}
	}
	return filepath.Join(out, "snapm") + ":" + filepath.Join(out, "boom-boot")
}

// snapmVerdict is what testdata/verdicts.py says snapm did with a row.
type snapmVerdict struct {
	Verdict string
	Error   string
	JSON    string
}

// askSnapm runs testdata/verdicts.py with snapm's code on the rows and
// returns its verdict on each.
func askSnapm(t *testing.T, pythonPath string, rows []verdictRow) []snapmVerdict {
	t.Helper()
	type row struct {
		Kind         string   `json:"kind"`
		Name         string   `json:"name"`
		Sources      []string `json:"sources"`
		CalendarSpec string   `json:"calendarspec"`
		Options      Options  `json:"options"`
		Data         []byte   `json:"data"`
		Policy       string   `json:"policy"`
	}
	in := make([]row, len(rows))
	for i, r := range rows {
		in[i] = row{r.kind, r.name, r.sources, r.calendarSpec, r.options, []byte(r.data), r.policy}
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/verdicts.py")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("verdicts.py: %v\n%s", err, stderr.Bytes())
	}
	var verdicts []snapmVerdict
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(rows) {
		t.Fatalf("verdicts.py said %d verdicts (%v), want %d", len(verdicts), err, len(rows))
	}
	return verdicts
}

// TestVerdictsAgainstSnapm asks the real snapm 0.7's Python code for its
// verdict on every row of the verdict table: each must be the one the
// table records, and where snapm makes or loads a schedule, its JSON must
// be ours byte for byte. snapm's functions run in a child process, on
// temporary files only; nothing reaches systemd or /etc.
func TestVerdictsAgainstSnapm(t *testing.T) {
	verdicts := askSnapm(t, snapmPath(t), verdictRows)
	for i, r := range verdictRows {
		v := verdicts[i]
		if v.Verdict != r.snapm {
			t.Errorf("%s: snapm %s (%s), the table says %s", r.label, v.Verdict, v.Error, r.snapm)
			continue
		}
		if got, data := r.ours(t); v.Verdict == "ok" && got == "ok" && string(data) != v.JSON {
			t.Errorf("%s: we write\n%s\nsnapm writes\n%s", r.label, data, v.JSON)
		}
	}
	t.Logf("%d rows compared with snapm 0.7", len(verdictRows))
}

// TestRandomVerdictsAgainstSnapm compares our verdicts with snapm's on
// names, source pairs and size policies made at random (with a fixed
// seed) of the characters that matter to the rules: Python's float(),
// normpath and the name sets are easy to get almost right.
func TestRandomVerdictsAgainstSnapm(t *testing.T) {
	pythonPath := snapmPath(t)
	rnd := rand.New(rand.NewPCG(24, 7))
	pick := func(parts []string, max int) string {
		var b strings.Builder
		for n := rnd.IntN(max + 1); n > 0; n-- {
			b.WriteString(parts[rnd.IntN(len(parts))])
		}
		return b.String()
	}
	sizeParts := []string{"0", "1", "5", "9", "00", ".", "_", "e", "E", "-", "+", " ", "%", "%", "FREE",
		"USED", "SIZE", "FIXED", "free", "G", "g", "i", "B", "b", "K", "nan", "inf", "x", "\n", "٣", "𝟗", "\u00a0"}
	pathParts := []string{"/", "/", "//", ".", "..", "a", "b", ":", ":2G", ":50%FREE", ":x%SIZE", ":101%SIZE", "é"}
	nameParts := []string{"a", "Z", "0", ".", "-", "_", ":", "\\", "+", " ", "é", "..", "/"}
	var rows []verdictRow
	for range 3000 {
		rows = append(rows, size(pick(sizeParts, 5), ""))
	}
	for range 1500 {
		rows = append(rows, verdictRow{kind: "sources", sources: []string{pick(pathParts, 5), pick(pathParts, 5)}})
	}
	for range 1000 {
		rows = append(rows, verdictRow{kind: "name", name: "a" + pick(nameParts, 6)})
	}
	for range 30 { // and whole schedules, which snapm's systemd-analyze makes slow
		rows = append(rows, srcs("", "", pick(pathParts, 3), pick(pathParts, 3)))
	}
	verdicts := askSnapm(t, pythonPath, rows)
	wrong := 0
	for i, r := range rows {
		got, data := r.ours(t)
		v := verdicts[i]
		switch {
		case got != v.Verdict:
			t.Errorf("%q %q %q: ours %s, snapm %s (%s)", r.policy, r.sources, r.name, got, v.Verdict, v.Error)
		case got == "ok" && r.kind == "create" && string(data) != v.JSON:
			t.Errorf("%q %q: we write\n%s\nsnapm writes\n%s", r.sources, r.name, data, v.JSON)
		default:
			continue
		}
		if wrong++; wrong == 10 {
			t.Fatal("and more")
		}
	}
	t.Logf("%d random rows compared with snapm 0.7", len(rows))
}
