package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// On a machine that lacks what `make test` needs, the check names all of
// it in one line with the packages to install, before anything is built.
func TestRequirementsNameWhatIsMissing(t *testing.T) {
	root := sysns.RepoRoot()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	wantGo := regexp.MustCompile(`(?m)^go ([0-9.]+)`).FindSubmatch(gomod)[1]

	// A bare machine: a shell and the tools the script itself uses, and
	// Debian 12's Go.
	bin := t.TempDir()
	for _, tool := range []string{"sh", "sed", "id", "sort", "head", "dirname", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho go1.19.8\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "requirements"), "test")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the check passed on a bare machine: %s", out)
	}
	line := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(line, "\n") {
		t.Errorf("more than one line:\n%s", out)
	}
	for _, want := range []string{
		"make test needs:", "gcc (go test -race needs cgo)", "busctl", "gdbus", "dbus-daemon", "setpriv",
		"Go " + string(wantGo) + " or later", "found 1.19.8",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("the line lacks %q: %s", want, line)
		}
	}
	// Every command of the list that this PATH lacks is named, and its
	// package is in the one apt-get install.
	_, install, _ := strings.Cut(line, "install with: apt-get install ")
	install, _, _ = strings.Cut(install, ";")
	pkgs := strings.Fields(install)
	for _, r := range readRequirements(t) {
		if r.pkg == "-" || strings.HasPrefix(r.check, "/") || strings.HasPrefix(r.check, "py:") {
			continue
		}
		if _, err := os.Stat(filepath.Join(bin, r.check)); err == nil {
			continue
		}
		if !strings.Contains(line, " "+r.check) || !slices.Contains(pkgs, r.pkg) {
			t.Errorf("the line lacks %s or its package %s: %s", r.check, r.pkg, line)
		}
	}
}

// Here, where the suite runs, nothing is missing, and the check says
// nothing.
func TestRequirementsQuietWhenMet(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the suite runs as root")
	}
	for _, mode := range []string{"run", "test"} {
		out, err := exec.Command(filepath.Join(sysns.RepoRoot(), "scripts", "requirements"), mode).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("requirements %s: %v: %q", mode, err, out)
		}
	}
}
