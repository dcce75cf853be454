// Package daemon wires snapm-timersd together and runs it until its context
// ends or the bus goes away.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/busconn"
	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dbusapi"
	"github.com/snapm/snapm-timersd/service/fairrun"
	"github.com/snapm/snapm-timersd/service/systemd"
	"github.com/snapm/snapm-timersd/service/timers"
	"github.com/snapm/snapm-timersd/service/unitwatch"
	"github.com/snapm/snapm-timersd/service/zonewatch"
	"github.com/snapm/snapm-timersd/version"
)

// Version is the daemon's version, published as Manager.Version.
var Version = version.Version

// Config is everything the daemon needs from its command line.
type Config struct {
	// BusAddress is the bus to serve on; empty means the system bus.
	BusAddress string
	UnitDir    string
	// RuntimeUnitDir is systemd's runtime configuration directory.
	RuntimeUnitDir string
	StateDir       string
	// ScheduleDir is snapm's schedule directory.
	ScheduleDir string
	// CallTimeout bounds one D-Bus method call, systemd jobs included.
	CallTimeout time.Duration
	// SettleTime is how long an invalid state seen from outside is held
	// back before it is published; zero means timers.DefaultSettleTime.
	SettleTime time.Duration
	Log        *zap.Logger
}

// previewWait bounds a preview's wait for its turn, well under a D-Bus
// client's default 25 s timeout.
const previewWait = 15 * time.Second

// ErrBusLost reports that the bus connection went away; the daemon exits
// non-zero so that systemd restarts it.
var ErrBusLost = errors.New("bus connection lost")

// Run serves until ctx ends (a clean stop, nil) or the bus connection is
// lost (ErrBusLost).
func Run(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := cfg.Log
	files := systemd.NewFileChanges()
	conn, err := connect(cfg.BusAddress, files.Intercept)
	if err != nil {
		return fmt.Errorf("connecting to the bus: %w", err)
	}
	defer conn.Close()

	// Watch first, then read: no zone change can fall between the two.
	zoneWatch, err := zonewatch.New(calendar.HostZoneFile)
	if err != nil {
		return fmt.Errorf("watching the host's time zone: %w", err)
	}
	host, err := calendar.NewLiveZone()
	if err != nil {
		zoneWatch.Close()
		return fmt.Errorf("reading the host's time zone: %w", err)
	}
	cal := calendar.Engine{Live: host}
	sd := systemd.New(ctx, conn.Conn, files, cal, log.Named("systemd"))
	srv, err := dbusapi.NewServer(ctx, dbusapi.Config{
		Conn:        conn.Conn,
		Raw:         conn,
		Authorizer:  dbusapi.NewPolkit(conn.Conn),
		Log:         log.Named("dbus"),
		Version:     Version,
		CallTimeout: cfg.CallTimeout,
	})
	if err != nil {
		zoneWatch.Close()
		return err
	}
	mgr := timers.NewManager(timers.Config{
		Systemd:        sd,
		Calendar:       cal,
		Previews:       fairrun.New(runtime.GOMAXPROCS(0)/2, previewWait, log.Named("previews")),
		Observer:       srv,
		Log:            log.Named("timers"),
		UnitDir:        cfg.UnitDir,
		RuntimeUnitDir: cfg.RuntimeUnitDir,
		StateDir:       cfg.StateDir,
		ScheduleDir:    cfg.ScheduleDir,
		Schedules:      srv,
		SettleTime:     cfg.SettleTime,
	})
	// Every loop of ours is owned here: started through loops, and ended
	// (ctx cancelled, then waited for) before Run returns, together with
	// the calls in flight.
	var loops sync.WaitGroup
	goLoop := func(loop func()) {
		loops.Add(1)
		go func() { defer loops.Done(); loop() }()
	}
	defer func() {
		cancel()
		srv.Wait()
		loops.Wait()
	}()
	goLoop(func() { mgr.Run(ctx) })
	// A lost watch ends the daemon: blind to hand edits and to snapm's
	// schedules, or to the zone, it would publish a stale state; systemd restarts it,
	// and the restart reads everything afresh.
	watchLost := make(chan error, 3)
	goLoop(func() {
		err := zoneWatch.Run(ctx, func() {
			switch changed, err := host.Reload(); {
			case err != nil:
				log.Warn("reading the host's new time zone; keeping the old one", zap.Error(err))
			case changed:
				log.Info("the host's time zone changed")
				mgr.HostZoneChanged()
			}
		})
		if err != nil {
			watchLost <- fmt.Errorf("watching the host's time zone: %w", err)
		}
	})
	// Subscribe and watch first, then read: no change can fall between
	// the two.
	if err := sd.Subscribe(ctx, mgr); err != nil {
		return fmt.Errorf("subscribing to systemd: %w", err)
	}
	goLoop(func() { sd.Run(ctx) })
	watcher, err := unitwatch.New(cfg.UnitDir, func(unit string) bool { _, ok := timers.ParseUnit(unit); return ok }, log.Named("unitwatch"))
	if err != nil {
		return fmt.Errorf("watching the unit directory: %w", err)
	}
	// snapm makes the directory with its first schedule; ours may come
	// first, and the watch needs it.
	if err := os.MkdirAll(cfg.ScheduleDir, 0o755); err != nil {
		watcher.Close()
		return fmt.Errorf("making the schedule directory: %w", err)
	}
	schedWatcher, err := unitwatch.NewFiles(cfg.ScheduleDir, timers.ScheduleNames, log.Named("schedwatch"))
	if err != nil {
		watcher.Close()
		return fmt.Errorf("watching the schedule directory: %w", err)
	}
	mgr.LoadSchedules()
	if err := mgr.Adopt(ctx); err != nil {
		watcher.Close()
		schedWatcher.Close()
		return fmt.Errorf("adopting existing timers: %w", err)
	}
	goLoop(func() {
		if err := schedWatcher.Run(ctx, mgr.SchedulesChanged); err != nil {
			watchLost <- fmt.Errorf("watching the schedule directory: %w", err)
		}
	})
	// Changes since the watch began wait in the kernel until adoption is
	// over, then come as one burst.
	goLoop(func() {
		if err := watcher.Run(ctx, mgr.DiskChanged); err != nil {
			watchLost <- fmt.Errorf("watching the unit directory: %w", err)
		}
	})
	if err := srv.Export(mgr); err != nil {
		return err
	}
	if err := srv.RequestName(); err != nil {
		return err
	}
	log.Info("ready", zap.String("bus_name", dbusapi.BusName), zap.String("unit_dir", cfg.UnitDir),
		zap.String("state_dir", cfg.StateDir), zap.String("schedule_dir", cfg.ScheduleDir))

	select {
	case <-ctx.Done():
		log.Info("stopping", zap.Uint64("daemon_reloads", sd.Reloads()), zap.Uint64("full_resyncs", mgr.Resyncs()))
		return nil
	case <-conn.Context().Done():
		return ErrBusLost
	case err := <-watchLost:
		return err
	}
}

func connect(address string, intercept dbus.Interceptor) (*busconn.Conn, error) {
	// Signals must reach the domain in the order systemd sent them.
	conn, err := busconn.Connect(address, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()), dbus.WithIncomingInterceptor(intercept))
	if err != nil {
		return nil, err
	}
	conn.AddFilter(systemd.Foreign)
	return conn, nil
}
