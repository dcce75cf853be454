package bus

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap/zaptest"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/tests/fakesystemd"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

// TestSignalLoopsEndWithRun: when daemon.Run returns, none of the systemd
// adapter's signal loops runs any more. They are started by the adapter's
// Run and waited for, not left to notice the end by themselves (goleak
// would wait for those; this looks at the very moment Run returns). A loop
// left to itself often wins the race to end; five rounds make one that
// always does unlikely.
func TestSignalLoopsEndWithRun(t *testing.T) {
	addr := testbus.Start(t)
	for range 5 {
		if leftover := runAndStop(t, addr); leftover != "" {
			t.Fatalf("still running after daemon.Run returned:\n%s", leftover)
		}
	}
}

// runAndStop starts the daemon against a fresh fake systemd, stops it, and
// returns the stack of a goroutine of the systemd adapter still alive once
// daemon.Run has returned.
func runAndStop(t *testing.T, addr string) string {
	unitDir := t.TempDir()
	fake, err := fakesystemd.Start(addr, unitDir)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: t.TempDir(), ScheduleDir: t.TempDir(),
			Log: zaptest.NewLogger(t)})
	}()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitForName(t, conn)
	// One P: a loop woken by the end of ctx does not run (and end) on
	// another core while Run returns.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon.Run: %v", err)
	}
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "snapm-timersd/service/systemd.") {
			return g
		}
	}
	return ""
}
