// Command sandbox builds snapm-timersd and runs it against a real systemd
// booted in a private namespace, installed there exactly as `make install`
// would on a real system; nothing outside the namespace is touched.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "snapm-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		return err
	}
	ns, err := sysns.Boot(opts)
	if err != nil {
		return err
	}
	defer ns.Shutdown()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// D-Bus activation, as a first client on a real system would cause it.
	if _, err := ns.Output(ctx, "busctl", "get-property", "com.redhat.Snapm.Timers",
		"/com/redhat/Snapm/Timers", "com.redhat.Snapm.Timers.Manager", "Version"); err != nil {
		return err
	}
	in := fmt.Sprintf("nsenter -t %d -a", ns.PID)
	fmt.Printf(`snapm-timersd is running on the system bus of a private systemd (PID %d).
Drive it from another terminal, for example:

  %[2]s busctl call com.redhat.Snapm.Timers /com/redhat/Snapm/Timers com.redhat.Snapm.Timers.Manager CreateTimer sss create hourly hourly
  %[2]s busctl call com.redhat.Snapm.Timers /com/redhat/Snapm/Timers/create/hourly com.redhat.Snapm.Timers.Timer Enable
  %[2]s busctl call com.redhat.Snapm.Timers /com/redhat/Snapm/Timers/create/hourly com.redhat.Snapm.Timers.Timer Start
  %[2]s busctl introspect com.redhat.Snapm.Timers /com/redhat/Snapm/Timers/create/hourly
  %[2]s systemctl list-timers 'snapm-*'

or with the admin's command line (see man/snapm-timersctl.1.md):

  %[2]s %[4]s create create nightly daily --now
  %[2]s %[4]s list
  %[2]s %[4]s status nightly
  %[2]s %[4]s calendar --iterations=3 'Mon..Fri 02:30'
  %[2]s %[4]s monitor

The bus is also at %[3]s.
Following the daemon's journal; Ctrl-C stops the daemon and the namespace.

`, ns.PID, in, ns.BusAddress(), filepath.Join(sysns.RepoRoot(), "bin", "snapm-timersctl"))
	follow := ns.Command(ctx, "journalctl", "-f", "-o", "short-precise", "-u", "snapm-timersd.service")
	follow.Stdout, follow.Stderr = os.Stdout, os.Stderr
	if err := follow.Run(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
