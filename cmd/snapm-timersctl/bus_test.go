package main

import (
	"context"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/testbus"
)

// On a bus without the service, every verb that needs it says so in one
// line and exits 7, whatever it was asked.
func TestDaemonAbsent(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", testbus.Start(t))
	for _, args := range [][]string{{"list"}, {"status", "create/x"}, {"stop", "x"}, {"calendar", "daily"}, {"create", "gc", "x", "daily"}, {"monitor"}} {
		a, out, errOut := testApp(t, false, nil)
		a.dial = nil
		if code := a.run(context.Background(), append([]string{"--no-ask-password"}, args...)); code != exitNoService {
			t.Errorf("%v: exit %d, want %d; stderr %q", args, code, exitNoService, errOut)
		}
		want := "snapm-timersd is not available: com.redhat.Snapm.Timers is not installed or not running (org.freedesktop.DBus.Error.ServiceUnknown)\n"
		if out.Len() != 0 || errOut.String() != want {
			t.Errorf("%v: stdout %q, stderr %q; want one line:\n%s", args, out, errOut, strings.TrimSpace(want))
		}
	}
}
