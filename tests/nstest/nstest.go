// Package nstest holds what the test tiers that run the installed daemon
// on the namespace's real systemd share (tests/realsystemd, tests/interop):
// the suite's life (Run), the daemon's activation, the checks of its
// journal at the end of a suite, the summary lines `make test` shows, and
// the clients' connections, calls and D-Bus errors.
package nstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

// The daemon's names on the bus.
const (
	BusName   = "com.redhat.Snapm.Timers"
	RootPath  = dbus.ObjectPath("/com/redhat/Snapm/Timers")
	ManagerIf = "com.redhat.Snapm.Timers.Manager"
	TimerIf   = "com.redhat.Snapm.Timers.Timer"
	PropsIf   = "org.freedesktop.DBus.Properties"
	ErrPrefix = "com.redhat.Snapm.Timers.Error."
)

// Suite is what a tier does around its tests beyond what Run does.
type Suite struct {
	// Name starts the suite's messages.
	Name string
	// Options, if set, adds to the namespace's options; tmp lives as
	// long as the suite.
	Options func(tmp string, opts *sysns.Options) error
	// Booted, if set, runs once the namespace is up, before the daemon is
	// activated.
	Booted func(ctx context.Context, ns *sysns.NS) error
}

// Run is a tier's TestMain: it boots a namespace with the project
// installed, as root, points *ns at it, activates the daemon, runs m,
// checks the daemon's journal, shows it if anything failed, and shuts the
// namespace down. It returns the exit code.
func Run(m *testing.M, s Suite, ns **sysns.NS) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v\n", s.Name, err)
		return 1
	}
	if os.Geteuid() != 0 {
		return fail(errors.New("these tests boot systemd in a namespace and must run as root"))
	}
	tmp, err := os.MkdirTemp("", "snapm-"+s.Name+"-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	opts, err := sysns.ProjectOptions(tmp)
	if err == nil && s.Options != nil {
		err = s.Options(tmp, &opts)
	}
	if err != nil {
		return fail(err)
	}
	if *ns, err = sysns.Boot(opts); err != nil {
		return fail(err)
	}
	ctx := context.Background()
	if s.Booted != nil {
		err = s.Booted(ctx, *ns)
	}
	// Activated here, so that a test that never activates it (TestLoad)
	// can run on its own too.
	if err == nil {
		err = Activate(ctx, *ns)
	}
	code := 0
	if err != nil {
		code = fail(err)
	} else {
		code = m.Run()
		// Over everything the suite did, the in-process calendar engine
		// and the real systemd must never have disagreed.
		if err := CheckJournal(ctx, *ns); err != nil {
			code = fail(err)
		}
	}
	if code != 0 {
		// The daemon's side of the story, for whoever reads the failure.
		fmt.Fprintf(os.Stderr, "--- snapm-timersd journal ---\n%s\n", PreciseJournal(ctx, *ns))
	}
	if err := (*ns).Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "shutting down namespace:", err)
	}
	return code
}

// Ctx is a context for one test's waits, ended with it or after d.
func Ctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// MustConnect is Connect for t, closed when t ends.
func MustConnect(t testing.TB, ns *sysns.NS) *dbus.Conn {
	t.Helper()
	conn, err := Connect(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// MustCall is Call, failing t on an error.
func MustCall(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	t.Helper()
	c := Call(conn, path, method, args...)
	if c.Err != nil {
		t.Fatalf("%s on %s: %v", method, path, c.Err)
	}
	return c
}

// tools holds, by name, the build of each tool a suite asked for.
var tools sync.Map

// Tool is ns.BuildTool, once per suite and name, failing t if the build
// fails.
func Tool(t testing.TB, ns *sysns.NS, pkg, name string) string {
	t.Helper()
	build, _ := tools.LoadOrStore(name, sync.OnceValues(func() (string, error) { return ns.BuildTool(pkg, name) }))
	path, err := build.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Activate starts the daemon by D-Bus activation, as a first client on a
// real system causes it, so that every test can run on its own and the
// journal shows it starting.
func Activate(ctx context.Context, ns *sysns.NS) error {
	if _, err := ns.Output(ctx, "busctl", "call", BusName, "/", "org.freedesktop.DBus.Peer", "Ping"); err != nil {
		return fmt.Errorf("activating the daemon: %w", err)
	}
	return nil
}

// Journal is the daemon's journal in the namespace, messages only.
func Journal(ctx context.Context, ns *sysns.NS) (string, error) {
	out, err := ns.Output(ctx, "journalctl", "--no-pager", "-o", "cat", "-u", "snapm-timersd.service")
	if err != nil {
		return "", fmt.Errorf("reading the daemon's journal: %w", err)
	}
	return out, nil
}

// CheckJournal is what a suite's end checks of the daemon's whole journal:
// that it started, and that its in-process calendar engine never
// disagreed with the real systemd.
func CheckJournal(ctx context.Context, ns *sysns.NS) error {
	journal, err := Journal(ctx, ns)
	if err != nil {
		return err
	}
	if !strings.Contains(journal, "ready") {
		err = fmt.Errorf("the daemon's journal does not show it starting:\n%s", journal)
	}
	if lines := Disagreeing(journal); len(lines) > 0 {
		err = errors.Join(err, fmt.Errorf("engine and systemd disagree:\n%s", strings.Join(lines, "\n")))
	}
	return err
}

// Disagreeing are the journal's lines marked timers.Disagreement.
func Disagreeing(journal string) []string {
	var out []string
	for _, line := range strings.Split(journal, "\n") {
		if strings.Contains(line, timers.Disagreement.Key) {
			out = append(out, line)
		}
	}
	return out
}

// PreciseJournal is the daemon's journal with precise times, for whoever
// reads a failure.
func PreciseJournal(ctx context.Context, ns *sysns.NS) string {
	out, _ := ns.Output(ctx, "journalctl", "--no-pager", "-o", "short-precise", "-u", "snapm-timersd.service")
	return out
}

// Summary appends line to the file $SNAPM_TEST_SUMMARY names, which
// `make test` prints after the suite: go test shows a passing package's
// output only with -v.
func Summary(line string) error {
	name := os.Getenv("SNAPM_TEST_SUMMARY")
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = fmt.Fprintln(f, line)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return nil
}

// ErrName is a D-Bus error's name, "" for no error.
func ErrName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	if err == nil {
		return ""
	}
	return "not a D-Bus error: " + err.Error()
}

// CallTimeout bounds each call a test makes: long enough never to fail a
// slow but working daemon.
const CallTimeout = 30 * time.Second

// Connect opens a root client connection to the namespace's system bus,
// whose signals are delivered in order.
func Connect(ns *sysns.NS) (*dbus.Conn, error) {
	conn, err := dbus.Connect(ns.BusAddress(), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		return nil, fmt.Errorf("connecting to the namespace's bus: %w", err)
	}
	return conn, nil
}

// Call calls method on the daemon's object path, within CallTimeout.
func Call(conn *dbus.Conn, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	return conn.Object(BusName, path).CallWithContext(ctx, method, 0, args...)
}
