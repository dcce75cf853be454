// Command snapm-timersctl lists and manages Snapshot Manager's schedule
// timers through the snapm-timersd service, in the manner of systemd's own
// timedatectl and systemctl list-timers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	a := &app{
		stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		now: time.Now, loc: time.Local, zone: calendar.HostZone,
		tty: isTerminal(os.Stdout), stdinTTY: isTerminal(os.Stdin),
	}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// app is one invocation: its options and its surroundings, which the
// golden tests replace with fixed ones.
type app struct {
	opts   options
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	loc    *time.Location
	// zone is the caller's as glibc sees it, which calendar evaluates in.
	zone func() (*calendar.Zone, error)
	// tty tells whether stdout (stdinTTY: stdin) is a terminal.
	tty, stdinTTY bool
	// dial replaces the bus connection in tests.
	dial func(ctx context.Context) (*client, error)
}

// style decides on colour as systemd's tools do: $SYSTEMD_COLORS first
// (a boolean, or a colour depth meaning yes), then $NO_COLOR, then a
// terminal that is not dumb.
func (a *app) style() style {
	switch strings.ToLower(a.getenv("SYSTEMD_COLORS")) {
	case "1", "yes", "y", "true", "t", "on", "16", "256", "24bit":
		return style{on: true}
	case "0", "no", "n", "false", "f", "off":
		return style{on: false}
	}
	return style{on: a.tty && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"}
}

func (a *app) run(ctx context.Context, args []string) int {
	verbName, rest, err := a.parse(args)
	if err == nil {
		err = a.dispatch(ctx, verbName, rest)
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitNoService && !errors.As(err, new(cliError)) {
		err = noService(err)
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(a.stderr, msg)
	}
	if code == exitUsage && errors.As(err, new(usageError)) {
		fmt.Fprintf(a.stderr, "Try '%s --help' for more information.\n", progName)
	}
	return code
}

const progName = "snapm-timersctl"

func (a *app) dispatch(ctx context.Context, name string, args []string) error {
	if a.opts.version {
		fmt.Fprintf(a.stdout, "%s %s\n", progName, version.Version)
		return nil
	}
	v, ok := verbs[name]
	if !ok {
		if a.opts.help && name == "" {
			return a.page(func(w io.Writer) error { return mainHelp(w) })
		}
		return usagef("Unknown command verb '%s'.", name)
	}
	if a.opts.help {
		fmt.Fprint(a.stdout, v.help())
		return nil
	}
	if len(args) < v.min || (v.max >= 0 && len(args) > v.max) {
		return usagef("%s: wrong number of arguments; usage: %s %s", name, progName, v.usage)
	}
	if err := a.checkOptions(name, v); err != nil {
		return err
	}
	return v.run(ctx, a, args)
}

// connect opens the system bus, here or on -H's host.
func (a *app) connect(ctx context.Context) (*client, error) {
	if a.dial != nil {
		return a.dial(ctx)
	}
	c, err := dialBus(ctx, a.opts.host, a.getenv)
	if err != nil {
		return nil, err
	}
	if !a.opts.noAskPassword {
		c.flags = dbusAllowInteractive
		// A text agent only for a local user at a terminal, as systemctl.
		if a.opts.host == "" && a.stdinTTY {
			c.agent = func() func() { return startAgent(a.stderr) }
		}
	}
	return c, nil
}

func mainHelp(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [OPTIONS...] COMMAND ...\n\nQuery or change Snapshot Manager's schedule timers.\n\nCommands:\n", progName)
	for _, name := range verbOrder {
		fmt.Fprintf(&b, "  %-40s %s\n", verbs[name].usage, verbs[name].summary)
	}
	b.WriteString(optionsHelp)
	fmt.Fprintf(&b, "\nTIMER is TYPE/NAME, or NAME when only one TYPE has it; TYPE is create or gc.\nSee the %s(1) man page for details.\n", progName)
	_, err := io.WriteString(w, b.String())
	return err
}
