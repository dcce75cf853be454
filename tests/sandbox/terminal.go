package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// foreground makes the sandbox the terminal's foreground process group of
// its own, as a shell does for a job, so that Ctrl-C reaches the sandbox
// alone: make and go run, which wait for it, then see it exit 0 instead of
// dying of the same SIGINT themselves. It returns what gives the terminal
// back to the group that had it.
func foreground() (restore func()) {
	tty := int(os.Stdin.Fd())
	fg, err := pgrpOf(tty)
	if err != nil || fg != syscall.Getpgrp() || fg == os.Getpid() {
		// No terminal, started in the background, or already a group of
		// our own (started by a shell, or as a session leader).
		return func() {}
	}
	if syscall.Setpgid(0, 0) != nil {
		return func() {}
	}
	// A background group that sets the terminal's foreground is sent
	// SIGTTOU, which would stop it.
	signal.Ignore(syscall.SIGTTOU)
	if setForeground(tty, syscall.Getpgrp()) != nil {
		return func() {}
	}
	return func() { setForeground(tty, fg) }
}

func pgrpOf(tty int) (int, error) {
	var pgrp int32
	err := ioctl(uintptr(tty), syscall.TIOCGPGRP, unsafe.Pointer(&pgrp))
	return int(pgrp), err
}

func setForeground(tty, pgrp int) error {
	p := int32(pgrp)
	return ioctl(uintptr(tty), syscall.TIOCSPGRP, unsafe.Pointer(&p))
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
