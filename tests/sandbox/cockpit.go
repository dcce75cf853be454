package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

const (
	cockpitWS = "/usr/lib/cockpit/cockpit-ws"
	// pageDir is where the built page lands in the namespace's private
	// /usr/libexec, laid out as under /usr/share for the bridge.
	pageDir = "snapm-sandbox/share"
)

// addCockpitPage puts the built Cockpit page (cockpit/dist) in opts, as
// `make install-cockpit` lays it out; it says why not when it cannot
// serve it.
func addCockpitPage(opts sysns.Options) error {
	dist := filepath.Join(sysns.RepoRoot(), "cockpit", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.js")); err != nil {
		return errors.New("build it with `make cockpit/dist/index.js`, then make run again")
	}
	if _, err := os.Stat(cockpitWS); err != nil {
		return errors.New("it needs Debian's cockpit-ws and cockpit-bridge")
	}
	return filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dist, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		opts.Files["libexec"][filepath.Join(pageDir, "cockpit", "snapm-timers", rel)] = data
		return nil
	})
}

// startCockpit serves the page by cockpit-ws inside the namespace, as a
// transient unit that the namespace's end stops, on a free port of the
// loopback (the namespace shares the host's network), and returns its URL.
func startCockpit(ctx context.Context, ns *sysns.NS) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	if _, err := ns.Output(ctx, "systemd-run", "--unit", "sandbox-cockpit-ws",
		"--setenv=XDG_DATA_DIRS=/usr/libexec/"+pageDir+":/usr/share", "--setenv=HOME=/root",
		cockpitWS, "--no-tls", "--local-session=cockpit-bridge", "--address", "127.0.0.1", "--port", port); err != nil {
		return "", err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return "http://127.0.0.1:" + port + "/cockpit/@localhost/snapm-timers/index.html", nil
		}
	}
	return "", fmt.Errorf("cockpit-ws did not listen on 127.0.0.1:%s", port)
}
