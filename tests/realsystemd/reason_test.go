package realsystemd

import (
	"testing"
	"time"
)

// TestStatusReason: the reason beside a status is what systemd and the
// disk say, and a masked timer is refused by name before anything is
// written.
func TestStatusReason(t *testing.T) {
	conn := connect(t)
	const name = "reason"
	unit := "snapm-create@" + name + ".timer"
	path := create(t, conn, "create", name, "hourly")
	ch := watch(t, conn, path)
	reason := func() string { return props(t, conn, path)["StatusReason"].Value().(string) }
	if got := reason(); got != "" {
		t.Errorf("a disabled timer's StatusReason = %q, want none", got)
	}

	inNS(t, "systemctl", "mask", unit)
	t.Cleanup(func() { inNS(t, "systemctl", "unmask", unit) })
	waitChange(t, ch, path, map[string]any{"StatusReason": "masked"}, 5*time.Second)
	wantStatus(t, conn, path, "disabled")
	for _, method := range []string{"Enable", "Start"} {
		if err := call(t, conn, path, timerIf+"."+method).Err; errName(err) != errPrefix+"Masked" {
			t.Errorf("%s of a masked timer: %v, want Masked", method, err)
		}
	}
	if exists(ns.UnitDirPath(unit+".d", "10-oncalendar.conf")) {
		t.Error("the refused Enable wrote the drop-in")
	}

	inNS(t, "systemctl", "unmask", unit)
	waitChange(t, ch, path, map[string]any{"StatusReason": ""}, 5*time.Second)
	mustCall(t, conn, path, timerIf+".Enable")
	// Disabled by hand, the drop-in stays: published once the settle time
	// has passed, with its reason.
	inNS(t, "systemctl", "disable", unit)
	waitChange(t, ch, path, map[string]any{"Status": "invalid", "StatusReason": "not-enabled"}, 10*time.Second)
	mustCall(t, conn, path, timerIf+".Disable")
	if got := reason(); got != "" {
		t.Errorf("after Disable, StatusReason = %q, want none", got)
	}
}
