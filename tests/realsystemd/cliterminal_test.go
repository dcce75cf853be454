package realsystemd

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// onTerminal runs the CLI in the namespace with its output on a fresh
// pseudo-terminal, as an admin at a terminal runs it, and returns what the
// terminal received.
func onTerminal(t *testing.T, env []string, args ...string) string {
	t.Helper()
	buildCtl(t)
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	term, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string{"env", "TZ=UTC", "TERM=xterm-256color"}, env...), append([]string{ctlInNS, "--no-pager"}, args...)...)
	cmd := ns.Command(testCtx(t), argv...)
	cmd.Stdout, cmd.Stderr = term, term
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once the terminal's last holder closes
		close(done)
	}()
	err = cmd.Wait()
	term.Close()
	<-done
	if err != nil {
		t.Fatalf("%v on a terminal: %v\n%s", args, err, out.String())
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// On a real terminal the CLI colours as systemctl does unless
// SYSTEMD_COLORS says otherwise, and a stopped timer has no next run there
// either. Planted bugs: SYSTEMD_COLORS ignored; the next run of a stopped
// timer shown.
func TestCLIOnTerminal(t *testing.T) {
	conn := connect(t)
	create(t, conn, "create", "cli-tty-stopped", "daily")
	ctl(t, 0, "enable", "create/cli-tty-stopped")

	out := onTerminal(t, nil, "list", "*cli-tty-*")
	if !strings.Contains(out, "\x1b[1mNEXT\x1b[0m") {
		t.Errorf("list on a terminal has no bold header:\n%q", out)
	}
	if !strings.Contains(out, "\n-") || strings.Contains(out, "UTC") {
		t.Errorf("list on a terminal shows a next run for a stopped timer:\n%s", out)
	}
	if out := onTerminal(t, []string{"SYSTEMD_COLORS=0"}, "list", "*cli-tty-*"); strings.Contains(out, "\x1b[") {
		t.Errorf("SYSTEMD_COLORS=0 on a terminal still colours:\n%q", out)
	}
	if out := onTerminal(t, []string{"NO_COLOR=1", "SYSTEMD_COLORS=1"}, "status", "create/cli-tty-stopped"); !strings.Contains(out, "\x1b[") ||
		!strings.Contains(out, "Next elapse: -\n") {
		t.Errorf("status with SYSTEMD_COLORS=1 on a terminal:\n%q", out)
	}
}
