package bus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap/zaptest"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/unitwatch"
	"github.com/snapm/snapm-timersd/tests/fakesystemd"
	"github.com/snapm/snapm-timersd/tests/testbus"
)

// TestLostWatchEndsDaemon: when the unit directory can no longer be
// watched (here it is removed; an unmount does the same), the daemon
// exits with an error, for systemd to restart it, rather than publish a
// state it can no longer keep true.
func TestLostWatchEndsDaemon(t *testing.T) {
	t.Parallel()
	addr := testbus.Start(t)
	unitDir := filepath.Join(t.TempDir(), "system")
	if err := os.Mkdir(unitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fake, err := fakesystemd.Start(addr, unitDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{BusAddress: addr, UnitDir: unitDir, StateDir: t.TempDir(), ScheduleDir: t.TempDir(),
			CallTimeout: 10 * time.Second, Log: zaptest.NewLogger(t)})
	}()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitForName(t, conn)
	if err := os.Remove(unitDir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, unitwatch.ErrLost) {
			t.Errorf("daemon.Run = %v, want a lost watch", err)
		}
	case <-time.After(hangGuard):
		cancel()
		<-done
		t.Fatal("the daemon carried on without its unit directory watch")
	}
}
