package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The sandbox as a user meets it: started from a terminal, a timer's
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
			t.Errorf("sandbox exited with %v after Ctrl-C, want 0; output:\n%s", err, sb.output())
		}
		if took > 3*time.Second {
			t.Errorf("sandbox took %v to exit after Ctrl-C, want at most 3s", took)
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
	pid    string // the namespace's systemd, as the host sees it
	exited chan error

	mu  sync.Mutex
	out strings.Builder
}

// startSandbox builds the sandbox and starts it in its own process group,
// as a shell starts a foreground job, and waits until it is ready.
func startSandbox(t *testing.T) *sandbox {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	sb := &sandbox{cmd: exec.Command(bin), exited: make(chan error, 1)}
	sb.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w := io.Pipe()
	sb.cmd.Stdout, sb.cmd.Stderr = w, w
	if err := sb.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := sb.cmd.Wait()
		w.Close()
		sb.exited <- err
	}()
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			sb.mu.Lock()
			sb.out.WriteString(s.Text() + "\n")
			sb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	})
	if !sb.waitOutput("Following the daemon's journal", 90*time.Second) {
		t.Fatalf("sandbox not ready; output:\n%s", sb.output())
	}
	m := regexp.MustCompile(`private systemd \(PID (\d+)\)`).FindStringSubmatch(sb.output())
	if m == nil {
		t.Fatalf("no PID in the sandbox's greeting:\n%s", sb.output())
	}
	sb.pid = m[1]
	return sb
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

// interrupt does what a terminal's Ctrl-C does (SIGINT to the foreground
// process group) and returns how long the sandbox took to exit, and how.
func (sb *sandbox) interrupt() (time.Duration, error) {
	start := time.Now()
	syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-sb.exited:
		return time.Since(start), err
	case <-time.After(30 * time.Second):
		return time.Since(start), errors.New("still running 30s after SIGINT (hang guard)")
	}
}
