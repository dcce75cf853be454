// Tests of who may call: without polkit the daemon fails closed to
// non-root callers.

package bus

import (
	"slices"
	"testing"
	"time"
)

// TestDaemonRefusesNonRoot: with a bus policy that lets anyone call and no
// polkit on the bus, the daemon fails closed: non-root callers are refused.
func TestDaemonRefusesNonRoot(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	path := e.create("guarded")
	before := e.leftovers()
	for _, args := range [][]string{
		{"--object-path", string(path), "--method", timerIf + ".Enable"},
		{"--object-path", string(rootPath), "--method", managerIf + ".CreateTimer", "create", "guarded", "hourly"},
	} {
		out, err := runAs(65534, append([]string{"gdbus", "call", "--address", e.addr, "--dest", busName}, args...)...)
		if err == nil || !contains(out, "org.freedesktop.DBus.Error.AccessDenied") {
			t.Errorf("%s as uid 65534: %v %s", args[3], err, out)
		}
	}
	if got := e.status(path); got != "disabled" {
		t.Errorf("refused Enable changed status to %s", got)
	}
	if files := e.leftovers(); !slices.Equal(files, before) {
		t.Errorf("refused calls changed the unit directory from %v to %v", before, files)
	}
}
