package systemd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// defaultSystemBus is the system bus's address when
// DBUS_SYSTEM_BUS_ADDRESS is not set, as the D-Bus specification says.
const defaultSystemBus = "unix:path=/var/run/dbus/system_bus_socket"

// Connect connects to the bus at address ("" for the system bus), ready
// to use, as dbus.Connect does; opts are dbus.Connect's. On a unix socket
// the connection is read through busFilter, so that systemd's signals
// about other units never reach godbus's decoder. A bus at any other kind
// of address (tcp, say) is connected to without the filter.
func Connect(address string, opts ...dbus.ConnOption) (*dbus.Conn, error) {
	if address == "" {
		address = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if address == "" {
		address = defaultSystemBus
	}
	sock, err := dialUnix(address)
	if err != nil {
		return nil, err
	}
	if sock == nil {
		return dbus.Connect(address, opts...)
	}
	conn, err := dbus.NewConn(newBusFilter(sock), opts...)
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

// dialUnix connects to the first unix socket address lists that
// answers; nil (and no error) when it lists none.
func dialUnix(address string) (net.Conn, error) {
	var errs []error
	for entry := range strings.SplitSeq(address, ";") {
		transport, params, _ := strings.Cut(entry, ":")
		if transport != "unix" {
			continue
		}
		var sock string
		for kv := range strings.SplitSeq(params, ",") {
			key, value, _ := strings.Cut(kv, "=")
			value, err := url.PathUnescape(value)
			if err != nil {
				return nil, fmt.Errorf("bus address %q: %w", address, err)
			}
			switch key {
			case "path":
				sock = value
			case "abstract":
				sock = "@" + value
			}
		}
		if sock == "" {
			continue
		}
		c, err := net.Dial("unix", sock)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, nil
}
