// Command sandbox builds snapm-timersd and runs it against a real systemd
// booted in a private namespace, installed there exactly as `make install`
// would on a real system; nothing outside the namespace is touched.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// Shutdown budget: the daemon's own stop, then the journal's last lines.
const (
	stopTimeout  = 2 * time.Second
	journalDrain = time.Second
)

// lastLine is what the daemon logs as it stops; the follower shows it
// before it goes.
const lastLine = " stopping "

func main() {
	// First thing, so that a Ctrl-C while systemd boots is ours to handle
	// too: the namespace must not outlive us half set up.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	restore := foreground()
	err := run(ctx, stop)
	stop()
	restore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stop context.CancelFunc) error {
	tmp, err := os.MkdirTemp("", "snapm-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err != nil {
		return err
	}
	real, snapmNote, err := chooseSnapm(opts)
	if err != nil {
		return err
	}
	cockpitErr := addCockpitPage(opts)
	ns, err := sysns.Boot(opts)
	if err != nil {
		return err
	}
	follow, err := serve(ctx, ns, real, snapmNote, cockpitErr)
	if err == nil {
		err = follow.wait(ctx)
	}
	// A second Ctrl-C from here on kills us at once; the namespace dies
	// with us (its unshare has a parent-death signal).
	stop()
	return errors.Join(err, shutdown(ns, follow))
}

// serve starts the daemon beside snapm (real, or the stand-in when nil),
// says how to reach them and follows their journal.
func serve(ctx context.Context, ns *sysns.NS, real *sysns.Snapm, snapmNote string, cockpitErr error) (*follower, error) {
	if err := installSnapm(ctx, ns, real); err != nil {
		return nil, interrupted(ctx, err)
	}
	// D-Bus activation, as a first client on a real system would cause it.
	if _, err := ns.Output(ctx, "busctl", "get-property", "com.redhat.Snapm.Timers",
		"/com/redhat/Snapm/Timers", "com.redhat.Snapm.Timers.Manager", "Version"); err != nil {
		return nil, interrupted(ctx, err)
	}
	page := "not served: "
	if cockpitErr != nil {
		page += cockpitErr.Error()
	} else if url, err := startCockpit(ctx, ns); err != nil {
		page += err.Error()
	} else {
		page = url
	}
	in := fmt.Sprintf("nsenter -t %d -a", ns.PID)
	ctl := filepath.Join(sysns.RepoRoot(), "bin", "snapm-timersctl")
	create := in + " snapm schedule create --policy-type count --keep-count 7 --calendarspec 'Mon..Fri 02:30' nightly /"
	if real == nil {
		create = in + " busctl call com.redhat.Snapm.Timers /com/redhat/Snapm/Timers com.redhat.Snapm.Timers.Manager " +
			"CreateSchedule sassa{sv} nightly 1 / 'Mon..Fri 02:30' 2 policy_type s count keep_count u 7"
	}
	fmt.Printf(`snapm-timersd is running on the system bus of a private systemd (PID %[1]d),
beside %[2]s, with a private /etc/snapm and /boot.
Try schedules from another terminal: create one, watch it, look at it:

  %[5]s
  %[3]s %[4]s monitor
  %[3]s %[4]s list
  %[3]s %[4]s status nightly
  %[3]s %[4]s calendar --iterations=3 'Mon..Fri 02:30'
  %[3]s systemctl list-timers 'snapm-*'

The admin's command line is man/snapm-timersctl.1.md; the API is man/snapm-timersd.8.md.
The Cockpit page (as root): %[6]s
The bus is also at %[7]s.
Following the daemon's journal; Ctrl-C stops the daemon and the namespace.

`, ns.PID, snapmNote, in, ctl, create, page, ns.BusAddress())
	return startFollower(ns)
}

// interrupted tells a Ctrl-C during start-up from a failure.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// follower is journalctl -f on the daemon and on the snapm runs its timers
// start, in its own process group: a terminal's Ctrl-C is for the sandbox,
// which ends the follower itself once the daemon's last lines are shown.
type follower struct {
	cmd    *exec.Cmd
	exited chan error
	last   chan struct{} // closed once the daemon's last line is shown
}

func startFollower(ns *sysns.NS) (*follower, error) {
	// Matches rather than -u: journalctl expands a unit pattern once, at
	// start, to the units it has seen, and the timers' services come later.
	cmd := ns.Command(context.Background(), "journalctl", "-f", "-o", "short-precise",
		"_SYSTEMD_UNIT=snapm-timersd.service", "+", "UNIT=snapm-timersd.service", "+", "SYSLOG_IDENTIFIER=snapm")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &follower{cmd: cmd, exited: make(chan error, 1), last: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		seen := false
		for lines := bufio.NewScanner(out); lines.Scan(); {
			fmt.Println(lines.Text())
			if !seen && strings.Contains(lines.Text(), "snapm-timersd[") && strings.Contains(lines.Text(), lastLine) {
				seen = true
				close(f.last)
			}
		}
	}()
	go func() {
		<-copied // Wait closes the pipe: read it all first
		f.exited <- cmd.Wait()
	}()
	return f, nil
}

// wait returns at Ctrl-C, or with an error if the follower ends by itself.
func (f *follower) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-f.exited:
		f.exited <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT {
			return nil // a Ctrl-C reached it too (the sandbox could not take the terminal)
		}
		return fmt.Errorf("following the journal: %w", errors.Join(err, errors.New("journalctl ended")))
	}
}

// stop ends the follower's whole group (nsenter and the journalctl it
// forked inside the namespace) and waits for it.
func (f *follower) stop() {
	syscall.Kill(-f.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(time.Second):
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.exited
	}
}

// shutdown stops the daemon as systemd would on a real system, so that its
// last lines show, then the follower, then ends the namespace at once:
// nothing inside is worth a full poweroff, which takes its systemd seconds.
func shutdown(ns *sysns.NS, follow *follower) error {
	fmt.Println("\nsandbox: shutting down: stopping snapm-timersd, then the namespace")
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	_, err := ns.Output(ctx, "systemctl", "stop", "snapm-timersd.service")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Printf("sandbox: snapm-timersd did not stop within %v, ignoring\n", stopTimeout)
		err = nil
	}
	cancel()
	if follow != nil {
		if err == nil {
			// The entry is in the journal once the stop returns; the
			// follower shows it within milliseconds, more under load.
			select {
			case <-follow.last:
			case <-time.After(journalDrain):
			}
		}
		follow.stop()
	}
	if kerr := ns.Kill(); kerr != nil {
		return errors.Join(err, kerr)
	}
	fmt.Println("sandbox: stopped")
	return err
}
