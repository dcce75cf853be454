package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/godbus/dbus/v5"
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
		return nil, cliError{fmt.Sprintf("Failed to connect to the system bus of %s: %v", host, err), exitFailure}
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

func dialSSH(ctx context.Context, host string, getenv func(string) string, opts ...dbus.ConnOption) (*dbus.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "bus"), os.NewFile(uintptr(fds[1]), "bridge")
	defer theirs.Close()
	argv := sshArgs(host, getenv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs, theirs, os.Stderr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, err
	}
	// ssh ends when the bus connection closes; reap it then.
	go cmd.Wait() //nolint:errcheck // its exit tells nothing the bus has not
	sock, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	conn, err := dbus.NewConn(sock, append(opts, dbus.WithContext(ctx))...)
	if err != nil {
		sock.Close()
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
