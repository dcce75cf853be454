// Command snapm-timersd serves Snapshot Manager's schedule timers on the
// system bus as com.redhat.Snapm.Timers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/logging"
	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/service/timers"
)

func main() {
	var cfg daemon.Config
	stateDir := os.Getenv("STATE_DIRECTORY") // set by systemd's StateDirectory=
	if stateDir == "" {
		stateDir = "/var/lib/snapm-timersd"
	}
	flag.StringVar(&cfg.BusAddress, "bus-address", "", "D-Bus address to serve on (default: the system bus)")
	flag.StringVar(&cfg.UnitDir, "unit-dir", "/etc/systemd/system", "directory for timer drop-ins")
	flag.StringVar(&cfg.RuntimeUnitDir, "runtime-unit-dir", "/run/systemd/system", "systemd's runtime unit directory, read for runtime enablement and masks")
	flag.StringVar(&cfg.StateDir, "state-dir", stateDir, "directory for the daemon's own state")
	flag.StringVar(&cfg.ScheduleDir, "schedule-dir", schedule.Dir, "snapm's schedule directory")
	flag.DurationVar(&cfg.CallTimeout, "call-timeout", 2*time.Minute, "longest a method call may take, systemd jobs included")
	flag.DurationVar(&cfg.SettleTime, "settle-time", timers.DefaultSettleTime, "how long an invalid state seen from outside may last before it is published")
	level := zap.LevelFlag("log-level", zap.InfoLevel, "least severe log level: debug, info, warn, error")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println(daemon.Version)
		return
	}

	log := logging.New(*level)
	defer log.Sync() //nolint:errcheck // nothing useful to do if the last flush fails
	cfg.Log = log

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := daemon.Run(ctx, cfg); err != nil {
		log.Error("exiting", zap.Error(err))
		os.Exit(1)
	}
}
