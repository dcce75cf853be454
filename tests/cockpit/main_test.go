// Package cockpit proves the Cockpit page (cockpit/) in a real browser: the
// real daemon on a real systemd booted in a private namespace, the real
// cockpit-ws and cockpit-bridge inside it serving the page as `make
// install` installs it, and Debian's Chromium driven headless by chromedp.
package cockpit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

const (
	chromium  = "/usr/bin/chromium"
	cockpitWS = "/usr/lib/cockpit/cockpit-ws"
	// Where `make install-cockpit` puts the page, inside the namespace's /tmp.
	pkgPrefix = "/tmp/cockpit-pkg"
	nobody    = 65534
)

var (
	ns *sysns.NS
	// rootURL and nobodyURL serve the page to a root session and to a
	// session of uid 65534.
	rootURL, nobodyURL string
	// browser is one headless Chromium; each test opens its own tabs.
	browser context.Context
	// shots is where the screenshots go.
	shots string
	// anchors are the tabs that keep the two sessions open, one per URL.
	anchors []context.Context
	// noSnapm says why the real snapm 0.7 is not in the namespace, "" when
	// it is (tests/interop has the rules).
	noSnapm string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	stop, err := boot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cockpit:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// boot builds the page, boots the namespace with the project installed,
// serves the page and starts the browser; stop undoes it all.
func boot() (stop func(), err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("these tests boot systemd in a namespace and must run as root")
	}
	for _, p := range []string{chromium, cockpitWS} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is needed (.ci/run installs it): %w", p, err)
		}
	}
	root := sysns.RepoRoot()
	// The page as `make` builds it (a no-op when it is up to date).
	if out, err := exec.Command("make", "-C", root, "cockpit/dist/index.js").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the page: %v\n%s", err, out)
	}
	tmp, err := os.MkdirTemp("", "snapm-cockpit-")
	if err != nil {
		return nil, err
	}
	opts, err := sysns.ProjectOptions(tmp)
	if err == nil {
		ns, err = sysns.Boot(opts)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err = installSnapm(); err != nil {
		ns.Shutdown()
		os.RemoveAll(tmp)
		return nil, err
	}
	stopBrowser, err := setUp(root, tmp)
	stop = func() {
		if stopBrowser != nil {
			stopBrowser()
		}
		if err := ns.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "cockpit: shutting down the namespace:", err)
		}
		os.RemoveAll(tmp)
	}
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// installSnapm puts the real snapm 0.7 into the namespace when its
// archives are at hand; without them the tests that need it skip, saying
// why.
func installSnapm() error {
	cache, err := sysns.DefaultSnapmCache()
	if err != nil {
		return err
	}
	s, err := sysns.PrepareSnapm(sysns.InteropDir(), cache)
	if errors.Is(err, sysns.ErrNoInterop) {
		noSnapm = err.Error()
		fmt.Println("cockpit: the tests with the real snapm did not run:", noSnapm)
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	return ns.InstallSnapm(ctx, s)
}

func setUp(root, tmp string) (stop func(), err error) {
	// Installed by the Makefile's own target, into the namespace's /tmp
	// (reached from here through /proc/PID/root).
	dest := fmt.Sprintf("/proc/%d/root%s", ns.PID, pkgPrefix)
	if out, err := exec.Command("make", "-C", root, "install-cockpit", "DESTDIR="+dest, "DATADIR=/share").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("make install-cockpit: %v\n%s", err, out)
	}
	// Two hosts, because cookies do not tell ports apart and each
	// cockpit-ws knows only its own session's cookie.
	if rootURL, err = startWS(0, "127.0.0.1"); err != nil {
		return nil, err
	}
	if nobodyURL, err = startWS(nobody, "127.0.0.2"); err != nil {
		return nil, err
	}
	shots = os.Getenv("SNAPM_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(root, "bin", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		return nil, err
	}
	// Chromium runs on the host (the namespace shares its network) with
	// everything it writes kept in tmp.
	home := filepath.Join(tmp, "chromium")
	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(home, "profile")),
		chromedp.WindowSize(1280, 800),
		chromedp.Env("HOME="+home, "TZ=UTC"),
	)
	var stopBrowser context.CancelFunc
	browser, stopBrowser = chromedp.NewContext(allocCtx)
	stop = func() {
		stopBrowser()
		stopAlloc()
	}
	// The first run starts the browser.
	if err := chromedp.Do(browser); err != nil {
		stop()
		return nil, fmt.Errorf("starting %s: %w", chromium, err)
	}
	// cockpit-ws --local-session serves one session, which ends when its
	// last page closes: a tab on each stays open for the whole run, and the
	// tests' tabs join its session.
	for _, url := range []string{rootURL, nobodyURL} {
		anchor, _ := chromedp.NewContext(browser)
		anchors = append(anchors, anchor)
		ctx, cancel := context.WithTimeout(anchor, hang)
		err := chromedp.Do(anchor, chromedp.Navigate(url))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](loaded, chromedp.WithPollingTimeout(hang)))
		}
		cancel()
		if err != nil {
			ctx, cancel := context.WithTimeout(anchor, 5*time.Second)
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
			cancel()
			stop()
			return nil, fmt.Errorf("opening %s: %w; the page says:\n%s", url, err, page)
		}
	}
	return stop, nil
}

// startWS runs cockpit-ws inside the namespace as uid, as a transient
// unit (so the namespace's poweroff stops it like any service), with the
// page installed where the bridge looks for packages; it returns the
// page's URL.
func startWS(uid int, host string) (string, error) {
	port, err := freePort(host)
	if err != nil {
		return "", err
	}
	unit := fmt.Sprintf("cockpit-ws-%d", uid)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if _, err := ns.Output(ctx, "systemd-run", "--unit", unit, "--uid", strconv.Itoa(uid), "--gid", strconv.Itoa(uid),
		"--setenv=XDG_DATA_DIRS="+pkgPrefix+"/share:/usr/share", "--setenv=HOME=/tmp",
		cockpitWS, "--no-tls", "--local-session=cockpit-bridge", "--address", host, "--port", strconv.Itoa(port)); err != nil {
		return "", err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	for deadline := time.Now().Add(hang); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr + "/cockpit/@localhost/snapm-timers/index.html", nil
		}
	}
	out, _ := ns.Output(ctx, "journalctl", "--no-pager", "-u", unit)
	return "", fmt.Errorf("cockpit-ws as uid %d did not listen on %s: %s", uid, addr, out)
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
