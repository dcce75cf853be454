// Tests of timers found on disk after start: CreateTimer adopts the one
// the Python snapm set up instead of overwriting it.

package bus

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/dropin"
)

// TestCreateAdoptsTimerConfiguredOnDisk: a timer the Python snapm set up
// after the daemon started is taken over as it is, and CreateTimer says
// it exists rather than overwrite it.
func TestCreateAdoptsTimerConfiguredOnDisk(t *testing.T) {
	t.Parallel()
	e := start(t, 10*time.Second)
	e.schedule("legacy", "hourly")
	if err := dropin.Write(e.unitDir, "snapm-create@legacy.timer", "weekly"); err != nil {
		t.Fatal(err)
	}
	err := e.call(rootPath, managerIf+".CreateTimer", "create", "legacy", "hourly").Err
	if errName(err) != errPrefix+"TimerExists" {
		t.Fatalf("CreateTimer over a drop-in on disk: %v", err)
	}
	var path dbus.ObjectPath
	if err := e.call(rootPath, managerIf+".GetTimer", "create", "legacy").Store(&path); err != nil {
		t.Fatal(err)
	}
	spec, err := e.conn.Object(busName, path).GetProperty(timerIf + ".CalendarSpec")
	if err != nil || spec.Value() != "weekly" {
		t.Errorf("adopted CalendarSpec %v, %v", spec, err)
	}
	if got, _, _ := dropin.Read(e.unitDir, "snapm-create@legacy.timer"); got != "weekly" {
		t.Errorf("the drop-in on disk now says %q", got)
	}
}
