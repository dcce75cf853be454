// Command forge sends the messages it reads on stdin (as
// dbus.Message.EncodeTo writes them: signals, each with its destination)
// to the system bus, byte for byte, as whoever runs it: what any local
// user can do to the daemon. It returns once the bus has routed every one
// of them, and prints how many it sent.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/snapm/snapm-timersd/tests/rawbus"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "forge:", err)
		os.Exit(1)
	}
}

func run() error {
	rc, err := rawbus.Dial("unix:path=/run/dbus/system_bus_socket")
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer rc.Close()
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	sent := 0
	for {
		msg, err := rawbus.ReadMessage(in)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("message %d on stdin: %w", sent, err)
		}
		if err := rc.Forward(msg); err != nil {
			return fmt.Errorf("sending message %d: %w", sent, err)
		}
		sent++
	}
	// The bus handles a connection's messages in order: once it answers
	// this call, it has passed on every message before it.
	if err := rc.Send("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", nil); err != nil {
		return err
	}
	if _, err := rc.Await(); err != nil {
		return fmt.Errorf("waiting for the bus: %w", err)
	}
	fmt.Println(sent)
	return nil
}
