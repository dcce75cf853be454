// Command flood keeps calls in flight on one connection to the system bus,
// as any local user can: -inflight calls at once, each sent again as soon
// as it is answered, until stdin closes. The calls are calendar previews,
// or with -enable PATH the Enable of that timer (refused to all but root
// and polkit's chosen). It prints "flooding" once the first calls are
// sent, and at the end "answered refused failed" (refused: the daemon's
// InvalidArgument, such as too many previews waiting, or AccessDenied).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

func main() {
	inFlight := flag.Int("inflight", 8, "calls in flight")
	spec := flag.String("spec", "Sat *-*~07/1", "calendar expression")
	iterations := flag.Uint("iterations", 1000, "elapses asked for")
	enable := flag.String("enable", "", "object path of a timer to Enable instead")
	flag.Parse()
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
	defer conn.Close()
	call := func() error {
		if *enable != "" {
			return conn.Object("com.redhat.Snapm.Timers", dbus.ObjectPath(*enable)).Call("com.redhat.Snapm.Timers.Timer.Enable", 0).Err
		}
		return conn.Object("com.redhat.Snapm.Timers", "/com/redhat/Snapm/Timers").Call(
			"com.redhat.Snapm.Timers.Manager.ParseCalendar", 0, *spec, uint32(*iterations)).Err
	}
	var answered, refused, failed atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range *inFlight {
		wg.Go(func() {
			for !stop.Load() {
				err := call()
				var derr dbus.Error
				switch {
				case err == nil:
					answered.Add(1)
				case errors.As(err, &derr) && (derr.Name == "com.redhat.Snapm.Timers.Error.InvalidArgument" ||
					derr.Name == "org.freedesktop.DBus.Error.AccessDenied"):
					refused.Add(1)
				default:
					failed.Add(1)
				}
			}
		})
	}
	fmt.Println("flooding")
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // any end of stdin stops the flood
	stop.Store(true)
	wg.Wait()
	fmt.Println(answered.Load(), refused.Load(), failed.Load())
}
