package main

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// startAgent runs polkit's text agent for the duration of one call, as
// systemctl does: `pkttyagent --notify-fd N --fallback`, waiting until it
// has registered (it closes fd N then). Without pkttyagent the call goes
// on; polkit then refuses what it cannot ask about.
func startAgent(stderr io.Writer) (stop func()) {
	path, err := exec.LookPath("pkttyagent")
	if err != nil {
		return func() {}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	cmd := exec.Command(path, "--notify-fd", strconv.Itoa(3), "--fallback")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return func() {}
	}
	w.Close()
	// EOF: the agent is registered (or gone).
	io.Copy(io.Discard, r) //nolint:errcheck // any end of the pipe will do
	r.Close()
	return func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		cmd.Wait()                          //nolint:errcheck // its exit status says nothing about the call
	}
}
