package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/busconn"
)

// dialBus connects to the system bus: this machine's, or with host set the
// remote one over `ssh -xT HOST systemd-stdio-bridge`, as systemd's tools
// do for -H.
func dialBus(ctx context.Context, host string, getenv func(string) string) (*client, error) {
	sequential := dbus.WithSignalHandler(dbus.NewSequentialSignalHandler())
	if host == "" {
		conn, err := dbus.ConnectSystemBus(sequential, dbus.WithContext(ctx))
		if err != nil {
			return nil, cliError{fmt.Sprintf("Failed to connect to the system bus: %v", err), exitFailure}
		}
		return &client{conn: conn}, nil
	}
	conn, err := dialSSH(ctx, host, getenv, sequential)
	if err != nil {
		return nil, cliError{"Failed to connect to bus: " + strerror(err), exitFailure}
	}
	return &client{conn: conn}, nil
}

// sshArgs is the command line that reaches host's bus; $SYSTEMD_SSH names
// another ssh, as for systemd's tools.
func sshArgs(host string, getenv func(string) string) []string {
	ssh := getenv("SYSTEMD_SSH")
	if ssh == "" {
		ssh = "ssh"
	}
	argv := []string{ssh, "-xT"}
	if user, h, ok := strings.Cut(host, "@"); ok {
		argv = append(argv, "-l", user)
		host = h
	}
	return append(argv, "--", host, "systemd-stdio-bridge")
}

// sshConnectTimeout bounds ssh's setup and the bus handshake when ssh
// neither answers nor exits (a host that drops packets, a prompt nobody
// answers): sd-bus's default call timeout, which systemctl -H waits too.
const sshConnectTimeout = 25 * time.Second

func dialSSH(ctx context.Context, host string, getenv func(string) string, opts ...dbus.ConnOption) (*dbus.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "bus"), os.NewFile(uintptr(fds[1]), "bridge")
	argv := sshArgs(host, getenv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs, theirs, os.Stderr
	err = cmd.Start()
	// ssh holds its own copies now; ours must go before the handshake,
	// or ssh's exit would never reach us as end-of-file.
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, err
	}
	sock, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		cmd.Wait() //nolint:errcheck // the socket's error is the one to report
		return nil, err
	}
	// ssh lives as long as the connection; its exit closes our end, so
	// that a handshake or a call in progress fails rather than waits.
	exited := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // its exit tells nothing the bus does not
		close(exited)
		sock.Close()
	}()
	var timedOut atomic.Bool
	timer := time.AfterFunc(sshConnectTimeout, func() {
		timedOut.Store(true)
		sock.Close()
	})
	conn, err := busconn.Handshake(sock, append(opts, dbus.WithContext(ctx))...)
	timer.Stop()
	switch {
	case err == nil:
		return conn, nil
	case timedOut.Load():
		return nil, fmt.Errorf("%w after %v", os.ErrDeadlineExceeded, sshConnectTimeout)
	}
	// End-of-file comes as ssh closes its side, a moment before it is
	// reaped: wait that moment to tell ssh's failure from the bridge's.
	select {
	case <-exited:
		// ssh gone before the bus answered: systemctl -H says ENOTCONN.
		return nil, syscall.ENOTCONN
	case <-time.After(time.Second):
		return nil, err
	}
}

// strerror is an error as systemd's %m prints an errno: glibc's text,
// capitalized where Go's is not.
func strerror(err error) string {
	msg := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) && msg != "" {
		return strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}
