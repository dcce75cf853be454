// Package interop runs the real, unmodified snapm 0.7 beside snapm-timersd
// on the namespace's real systemd: the daemon installed as `make install`
// would and started by D-Bus activation, snapm as the namespace's
// /usr/bin/snapm, both on the same /etc/snapm and unit directory. The tier
// runs when the upstream archives are at hand (../shared/interop beside the
// repository, or $SNAPM_INTEROP); without them it says so in one line.
package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

var ns *sysns.NS

// snapmVenv is the virtual environment snapm runs from (sysns.Snapm).
var snapmVenv string

// settleTime is the daemon's -settle-time in this tier.
const settleTime = 2 * time.Second

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	cache, err := sysns.DefaultSnapmCache()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	snapm, err := sysns.PrepareSnapm(sysns.InteropDir(), cache)
	if errors.Is(err, sysns.ErrNoInterop) {
		line := fmt.Sprintf("interop: did not run: %v", err)
		fmt.Println(line)
		if err := nstest.Summary(line); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	prepared := time.Since(start)
	snapmVenv = snapm.Venv
	// Whatever snapm does in the namespace must leave the host as it was.
	host, err := sysns.HostSnapmState()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := nstest.Run(m, nstest.Suite{
		Name: "interop",
		// snapm's steps are slower on a loaded test machine than on a
		// system: the daemon holds outside invalid states long enough
		// that the no-flash tests judge the mechanism, not the machine's
		// load.
		Options: func(_ string, opts *sysns.Options) error {
			opts.Files["etc-sd"]["snapm-timersd.service.d/settle.conf"] = []byte(
				"[Service]\nExecStart=\nExecStart=/usr/libexec/snapm-timersd -settle-time=" + settleTime.String() + "\n")
			return nil
		},
		Booted: func(ctx context.Context, ns *sysns.NS) error {
			start := time.Now()
			if err := ns.InstallSnapm(ctx, snapm); err != nil {
				return err
			}
			verb := "cached"
			if snapm.Built {
				verb = "built"
			}
			line := fmt.Sprintf("interop: ran beside the real snapm 0.7 from %s (its venv %s in %v, installed in the namespace in %v)",
				snapm.Archives, verb, prepared.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			fmt.Println(line)
			return nstest.Summary(line)
		},
	}, &ns)
	if after, err := sysns.HostSnapmState(); err != nil || after != host {
		fmt.Fprintf(os.Stderr, "snapm reached the host (%v):\nbefore:\n%s\nafter:\n%s\n", err, host, after)
		code = 1
	}
	return code
}
