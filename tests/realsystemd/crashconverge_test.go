package realsystemd

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/snapm/snapm-timersd/service/crashpoint"
)

// TestCrashRemoveLeavesNoDir kills RemoveTimer of a timer that was never
// enabled once its record is gone: the UNIT.d Create made must not outlive
// it, as nothing would ever remove it.
func TestCrashRemoveLeavesNoDir(t *testing.T) {
	conn := connect(t)
	const name, unit = "crash-remove", "snapm-create@crash-remove.timer"
	path := create(t, conn, "create", name, crashSpec)
	dir := ns.UnitDirPath(unit + ".d")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a new timer's UNIT.d: %v", err)
	}
	step := crashpoint.RemoveRecordGone
	killAt(t, step)
	callKilled(t, conn, step, rootPath, managerIf+".RemoveTimer", path)
	runDaemon(t, "")
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the crash at %s and a restart, %s is left (%v)", step, dir, err)
	}
	if err := call(t, conn, rootPath, managerIf+".GetTimer", "create", name).Err; errName(err) != errPrefix+"NoSuchTimer" {
		t.Errorf("after the crash at %s, GetTimer says %v, want NoSuchTimer: the record is gone", step, err)
	}
	noOrphanedDropIns(t, conn)
}
