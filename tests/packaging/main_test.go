// Package packaging holds the project to what a distribution needs of it:
// manuals that render cleanly and cover the whole D-Bus API, a release
// tarball that builds offline, an RPM spec that builds from it, and an
// install that works on its own.
package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

var root = sysns.RepoRoot()

// run runs argv in the repository and fails the test with its output if
// it fails.
func run(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	out, _ := runState(t, env, argv...)
	return out
}

// runState is run that also returns the process's state, CPU times
// included (its children's among them).
func runState(t *testing.T, env []string, argv ...string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, out, stderr.String())
	}
	return string(out), cmd.ProcessState
}

// makeInstall installs the project as `make install` does into a new
// scratch directory, and returns it.
func makeInstall(t *testing.T, vars ...string) string {
	t.Helper()
	dest := t.TempDir()
	run(t, nil, append([]string{"make", "-s", "install", "DESTDIR=" + dest}, vars...)...)
	return dest
}
