package schedule

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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

// TestVerdictsAgainstSnapm asks the real snapm 0.7's Python code for its
// verdict on every row of the verdict table: each must be the one the
// table records, and where snapm makes or loads a schedule, its JSON must
// be ours byte for byte. snapm's functions run in a child process, on
// temporary files only; nothing reaches systemd or /etc.
func TestVerdictsAgainstSnapm(t *testing.T) {
	pythonPath := snapmPath(t)
	type row struct {
		Kind         string   `json:"kind"`
		Name         string   `json:"name"`
		Sources      []string `json:"sources"`
		CalendarSpec string   `json:"calendarspec"`
		Options      Options  `json:"options"`
		Data         []byte   `json:"data"`
		Policy       string   `json:"policy"`
	}
	rows := make([]row, len(verdictRows))
	for i, r := range verdictRows {
		rows[i] = row{r.kind, r.name, r.sources, r.calendarSpec, r.options, []byte(r.data), r.policy}
	}
	in, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/verdicts.py")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("verdicts.py: %v\n%s", err, stderr.Bytes())
	}
	var verdicts []snapmVerdict
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(verdictRows) {
		t.Fatalf("verdicts.py said %d verdicts (%v), want %d", len(verdicts), err, len(verdictRows))
	}
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
