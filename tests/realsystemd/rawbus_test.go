package realsystemd

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/rawbus"
)

// marker ends with the byte rawCreateTimer corrupts.
const marker = "corrupt-me:\x01"

// rawCreateTimer sends CreateTimer("create", name, "daily") over a
// connection made by hand, after replacing the last byte of marker in name
// with corrupt: clients refuse to send such strings at all, so only
// hand-made bytes show what the bus does with them. It returns what came
// back: the reply's error name, or "disconnected" when the bus closed the
// connection (EOF or ECONNRESET; anything else, such as a timeout, is
// neither and fails).
func rawCreateTimer(t *testing.T, name string, corrupt byte) string {
	t.Helper()
	rc, err := rawbus.Dial(ns.BusAddress())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	rc.SetDeadline(time.Now().Add(10 * time.Second))
	edit := func(b []byte) {
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			b[i+len(marker)-1] = corrupt
		}
	}
	if err := rc.Send(busName, rootPath, managerIf, "CreateTimer", edit, "create", name, "daily"); err != nil {
		t.Fatal(err)
	}
	reply, err := rc.Await()
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return "disconnected"
	case err != nil:
		t.Fatalf("CreateTimer with byte %#x in the name: %v, want a reply or a disconnection", corrupt, err)
	case reply.Type == dbus.TypeError:
		return reply.ErrorName
	}
	return "accepted"
}
