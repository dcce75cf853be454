package dropin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/snapm/snapm-timersd/tests/synctrace"
)

// TestEveryEntrySynced: each way a drop-in is written or removed leaves
// every directory entry it made, renamed or removed fsynced when it
// returns (strace sees the calls; a SIGKILL cannot show an unsynced
// entry, a power cut would). Dropping the unit directory's fsync after a
// new UNIT.d once passed the whole suite.
func TestEveryEntrySynced(t *testing.T) {
	synctrace.Check(t, "TestEveryEntrySyncedHelper", "write with a new UNIT.d", "write into a UNIT.d made ahead",
		"rewrite", "remove", "remove, a foreign file keeping UNIT.d")
}

// TestEveryEntrySyncedHelper does TestEveryEntrySynced's writes under
// strace.
func TestEveryEntrySyncedHelper(t *testing.T) {
	if !synctrace.Helping() {
		t.Skip("run by TestEveryEntrySynced, under strace")
	}
	dir := filepath.Join(synctrace.Root(), "system")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(Write(dir, "snapm-gc@a.timer", "daily"))
	synctrace.Mark("write with a new UNIT.d")
	must(MakeDir(dir, "snapm-gc@b.timer"))
	must(Write(dir, "snapm-gc@b.timer", "daily"))
	synctrace.Mark("write into a UNIT.d made ahead")
	must(Write(dir, "snapm-gc@a.timer", "hourly"))
	synctrace.Mark("rewrite")
	must(Remove(dir, "snapm-gc@a.timer"))
	synctrace.Mark("remove")
	must(os.WriteFile(filepath.Join(Dir(dir, "snapm-gc@b.timer"), "50-mine.conf"), nil, 0o644))
	must(Remove(dir, "snapm-gc@b.timer"))
	synctrace.Mark("remove, a foreign file keeping UNIT.d")
}
