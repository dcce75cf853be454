package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// The sandbox as a user meets it: `make run` in a terminal, with the real
// snapm when its archives are at hand, the greeting's schedule tried, a
// timer's service run inside it, Ctrl-C to end it.
func TestSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the sandbox boots systemd in a private namespace: root needed")
	}
	host, err := sysns.HostSnapmState()
	if err != nil {
		t.Fatal(err)
	}
	_, noArchives := os.Stat(filepath.Join(sysns.InteropDir(), "README.md"))
	sb := startSandbox(t)

	t.Run("RealSnapm", func(t *testing.T) {
		if noArchives != nil {
			t.Skipf("the real snapm's archives are not at hand: %v", noArchives)
		}
		if !strings.Contains(sb.output(), "beside the real snapm 0.7") {
			t.Fatalf("the greeting does not say the real snapm runs:\n%s", sb.output())
		}
		// The greeting's first command, as a user pastes it.
		create := sb.greetingLine(t, " snapm schedule create ")
		if out, err := exec.Command("sh", "-c", create).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", create, err, out)
		}
		if out := sb.nsenter(t, "snapm", "schedule", "list"); !strings.Contains(out, "nightly") {
			t.Errorf("snapm schedule list after the greeting's create:\n%s", out)
		}
		// A timer without its schedule fails as it would on a real system.
		sb.wantServiceRun(t, "snapm-create@nope.service", "exit-code", "No schedule configuration matching 'nope' found.")
	})

	t.Run("CockpitPage", func(t *testing.T) {
		line := sb.greetingLine(t, "The Cockpit page")
		url := regexp.MustCompile(`http://\S+`).FindString(line)
		if _, err := os.Stat(filepath.Join(sysns.RepoRoot(), "cockpit", "dist", "index.js")); err != nil {
			if url != "" || !strings.Contains(line, "make cockpit/dist/index.js") {
				t.Errorf("without a built page, the greeting says %q, want how to build it", line)
			}
			t.Skip("the page is not built: ", err)
		}
		if url == "" {
			t.Fatalf("the page is built, but the greeting gives no URL: %q", line)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title translate>Snapshot schedules</title>") {
			t.Errorf("GET %s: %s, want the page:\n%.500s", url, resp.Status, body)
		}
	})

	t.Run("CtrlCExitsCleanly", func(t *testing.T) {
		sb.wantCleanExit(t)
	})

	t.Run("StandInFailsAsSnapm", func(t *testing.T) {
		sb := startSandbox(t, "SNAPM_INTEROP=/nonexistent")
		if !strings.Contains(sb.output(), "beside a stand-in for snapm") {
			t.Fatalf("the greeting does not say the stand-in runs:\n%s", sb.output())
		}
		sb.wantServiceRun(t, "snapm-create@x.service", "exit-code", "No schedule configuration matching 'x' found.")
		sb.wantServiceRun(t, "snapm-gc@x.service", "exit-code", "No schedule named x")
		sb.nsenter(t, "sh", "-c", "echo {} > /etc/snapm/schedule.d/x.json")
		sb.wantServiceRun(t, "snapm-create@x.service", "success", "snapm (sandbox stand-in): would run: snapm snapset create-scheduled -c x")
		sb.wantCleanExit(t)
	})

	if after, err := sysns.HostSnapmState(); err != nil || after != host {
		t.Errorf("snapm reached the host (%v):\nbefore:\n%s\nafter:\n%s", err, host, after)
	}
}

// wantServiceRun starts unit in the sandbox, as its timer would, and
// wants its result, and line in the followed journal.
func (sb *sandbox) wantServiceRun(t *testing.T, unit, result, line string) {
	t.Helper()
	sb.nsenterStatus(t, "systemctl", "start", unit)
	if got := sb.nsenter(t, "systemctl", "show", "-P", "Result", unit); got != result {
		t.Errorf("%s Result=%s, want %s", unit, got, result)
	}
	if !sb.waitOutput(line, 10*time.Second) {
		t.Errorf("the followed journal never showed %q; output:\n%s", line, sb.output())
	}
	// The next run starts from a clean slate.
	sb.nsenterStatus(t, "systemctl", "reset-failed", unit)
}

// wantCleanExit types Ctrl-C and wants make run gone within 3 s, having
// shown the daemon's last line, with the namespace gone too.
func (sb *sandbox) wantCleanExit(t *testing.T) {
	t.Helper()
	took, err := sb.interrupt()
	t.Logf("Ctrl-C to exit: %v", took.Round(time.Millisecond))
	if err != nil {
		t.Errorf("make run exited with %v after Ctrl-C, want 0; output:\n%s", err, sb.output())
	}
	// A hang guard, not a timing: the sandbox kills its namespace at once
	// (a clean poweroff waits for every unit, up to 20 s), and how long
	// the kill takes depends on the machine's load.
	if took > 15*time.Second {
		t.Errorf("make run took %v to exit after Ctrl-C: it waited on the namespace instead of ending it", took)
	}
	_, after, _ := strings.Cut(sb.output(), "sandbox: shutting down")
	if !regexp.MustCompile(`snapm-timersd\[\d+\]: stopping `).MatchString(after) || !strings.Contains(after, "sandbox: stopped") {
		t.Errorf("output lacks 'shutting down', then the daemon's last line, then 'stopped':\n%s", sb.output())
	}
	if _, err := os.Stat("/proc/" + sb.pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the namespace's systemd (PID %s) outlived the sandbox", sb.pid)
	}
}

// nsenter runs argv in the sandbox's namespace and fails t unless it
// succeeds.
func (sb *sandbox) nsenter(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := sb.nsenterStatus(t, argv...)
	if err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
	return out
}

// nsenterStatus runs argv in the sandbox's namespace, whatever its exit.
func (sb *sandbox) nsenterStatus(t *testing.T, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", sb.pid, "-a"}, argv...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// greetingLine is the greeting's command line that contains s.
func (sb *sandbox) greetingLine(t *testing.T, s string) string {
	t.Helper()
	greeting, _, _ := strings.Cut(sb.output(), "Following the daemon's journal")
	for _, line := range strings.Split(greeting, "\n") {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no line with %q in the greeting:\n%s", s, greeting)
	return ""
}

type sandbox struct {
	cmd    *exec.Cmd
	tty    *os.File // the terminal's master side
	pid    string   // the namespace's systemd, as the host sees it
	exited chan error

	mu  sync.Mutex
	out strings.Builder
}

// startSandbox runs `make run` on a terminal of its own, as a shell would,
// with env added to ours, and waits until the sandbox is ready.
func startSandbox(t *testing.T, env ...string) *sandbox {
	t.Helper()
	tty, term, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{cmd: exec.Command("make", "-C", sysns.RepoRoot(), "run"), tty: tty, exited: make(chan error, 1)}
	sb.cmd.Env = append(os.Environ(), env...)
	sb.cmd.Stdin, sb.cmd.Stdout, sb.cmd.Stderr = term, term, term
	sb.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := sb.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term.Close()
	go func() { sb.exited <- sb.cmd.Wait() }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			sb.mu.Lock()
			sb.out.Write(buf[:n])
			sb.mu.Unlock()
			if err != nil {
				return // EIO once the last process on the terminal is gone
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-sb.exited:
		default:
			sb.interrupt()
			syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
		}
		tty.Close()
	})
	if !sb.waitOutput("Following the daemon's journal", 180*time.Second) {
		t.Fatalf("sandbox not ready; output:\n%s", sb.output())
	}
	m := regexp.MustCompile(`private systemd \(PID (\d+)\)`).FindStringSubmatch(sb.output())
	if m == nil {
		t.Fatalf("no PID in the sandbox's greeting:\n%s", sb.output())
	}
	sb.pid = m[1]
	return sb
}

// openPTY opens a new pseudo-terminal: its master side and its terminal.
func openPTY() (master, term *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	var n uint32
	if err := ioctl(master.Fd(), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		master.Close()
		return nil, nil, err
	}
	if err := ioctl(master.Fd(), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		master.Close()
		return nil, nil, err
	}
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, term, nil
}

func (sb *sandbox) output() string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.out.String()
}

// waitOutput is a hang guard, not a timing check.
func (sb *sandbox) waitOutput(s string, guard time.Duration) bool {
	for deadline := time.Now().Add(guard); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(sb.output(), s) {
			return true
		}
		if len(sb.exited) > 0 {
			return strings.Contains(sb.output(), s) // make run ended: nothing more will come
		}
	}
	return false
}

// interrupt types Ctrl-C and returns how long make run took to exit, and
// how.
func (sb *sandbox) interrupt() (time.Duration, error) {
	start := time.Now()
	sb.tty.Write([]byte{3})
	select {
	case err := <-sb.exited:
		sb.exited <- err // for the cleanup, which must not interrupt it again
		return time.Since(start), err
	case <-time.After(30 * time.Second):
		return time.Since(start), errors.New("still running 30s after SIGINT (hang guard)")
	}
}
