package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// The sandbox as a user meets it: `make run` in a terminal, a timer's
// service run inside it, Ctrl-C to end it.
func TestSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the sandbox boots systemd in a private namespace: root needed")
	}
	_, hostSnapm := os.Stat("/usr/bin/snapm")
	sb := startSandbox(t)

	t.Run("StandInSnapmRunSucceeds", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		nsenter := func(argv ...string) string {
			out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", sb.pid, "-a"}, argv...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v: %s", argv, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		// What the timer starts when it elapses.
		nsenter("systemctl", "start", "snapm-create@x.service")
		if got := nsenter("systemctl", "show", "-P", "Result", "snapm-create@x.service"); got != "success" {
			t.Errorf("snapm-create@x.service Result=%s, want success", got)
		}
		const line = "snapm (sandbox stand-in): would run: snapm snapset create-scheduled -c x"
		if !sb.waitOutput(line, 10*time.Second) {
			t.Errorf("the followed journal never showed %q; output:\n%s", line, sb.output())
		}
		if _, err := os.Stat("/usr/bin/snapm"); errors.Is(hostSnapm, os.ErrNotExist) && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the stand-in reached the host's /usr/bin/snapm (%v)", err)
		}
	})

	t.Run("CtrlCExitsCleanlyWithin3s", func(t *testing.T) {
		took, err := sb.interrupt()
		t.Logf("Ctrl-C to exit: %v", took.Round(time.Millisecond))
		if err != nil {
			t.Errorf("make run exited with %v after Ctrl-C, want 0; output:\n%s", err, sb.output())
		}
		if took > 3*time.Second {
			t.Errorf("make run took %v to exit after Ctrl-C, want at most 3s", took)
		}
		_, after, _ := strings.Cut(sb.output(), "sandbox: shutting down")
		if !regexp.MustCompile(`snapm-timersd\[\d+\]: stopping `).MatchString(after) || !strings.Contains(after, "sandbox: stopped") {
			t.Errorf("output lacks 'shutting down', then the daemon's last line, then 'stopped':\n%s", sb.output())
		}
		if _, err := os.Stat("/proc/" + sb.pid); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the namespace's systemd (PID %s) outlived the sandbox", sb.pid)
		}
	})
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
// and waits until the sandbox is ready.
func startSandbox(t *testing.T) *sandbox {
	t.Helper()
	tty, term, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{cmd: exec.Command("make", "-C", sysns.RepoRoot(), "run"), tty: tty, exited: make(chan error, 1)}
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
		return time.Since(start), err
	case <-time.After(30 * time.Second):
		return time.Since(start), errors.New("still running 30s after SIGINT (hang guard)")
	}
}
