package dbusapi

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// Action is what a caller asks to do, for the authorizer to judge.
type Action struct {
	Method string
	Timer  timers.Key
}

// RootOnly allows changes to root callers only. The bus policy says the
// same; checking here too keeps the daemon safe on a bus with a laxer one.
type RootOnly struct{ Conn *dbus.Conn }

// Authorize returns the caller's uid, and ErrAccessDenied unless it is 0.
func (a RootOnly) Authorize(ctx context.Context, sender string, act Action) (uint32, error) {
	uid, err := CallerUID(ctx, a.Conn, sender)
	if err != nil {
		return uid, err
	}
	if uid != 0 {
		return uid, fmt.Errorf("%w: %s on %s is allowed to root only (caller uid %d)", timers.ErrAccessDenied, act.Method, act.Timer, uid)
	}
	return uid, nil
}

// CallerUID asks the bus for the uid behind a unique name; the bus knows it
// from the socket's credentials, so a caller cannot lie about it.
func CallerUID(ctx context.Context, conn *dbus.Conn, sender string) (uint32, error) {
	var uid uint32
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, sender).Store(&uid)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot identify caller %s: %w", timers.ErrAccessDenied, sender, err)
	}
	return uid, nil
}
