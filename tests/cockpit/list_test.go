package cockpit

import (
	"testing"
)

// Existing timers, made through the bus and by systemd, are listed with
// the status the daemon derives from systemd and the disk.
func TestListsExistingTimers(t *testing.T) {
	conn := bus(t)
	newTimer(t, conn, "create", "list-disabled", "daily")
	newTimer(t, conn, "gc", "list-enabled", "weekly", "Enable")
	newTimer(t, conn, "create", "list-running", "Mon..Fri 08:00", "Enable", "Start")
	newTimer(t, conn, "gc", "list-invalid", "hourly", "Enable")
	// A drop-in without enablement: made by someone else, shown as invalid.
	inNS(t, "systemctl", "disable", "snapm-gc@list-invalid.timer")

	ctx := tab(t, rootURL)
	for name, want := range map[string]string{
		"create/list-disabled": "disabled",
		"gc/list-enabled":      "enabled",
		"create/list-running":  "running",
		"gc/list-invalid":      "invalid",
	} {
		waitStatus(t, ctx, name, want)
	}
	screenshot(t, ctx, "table")
}
