// Package sysns boots a real systemd as PID 1 of a private PID and mount
// namespace, with its own system bus, so tests (and the sandbox command) can
// drive real systemd without touching the host: everything written to
// /etc/systemd/system and /etc/snapm inside lands in a scratch copy, the rest
// of /etc and /var in copy-on-write overlays, and /run, /tmp and /boot are
// private too.
package sysns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// masked are units that would touch kernel-global or host state.
var masked = []string{
	"systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount", "proc-sys-fs-binfmt_misc.mount",
	"systemd-sysctl.service", "systemd-modules-load.service", "systemd-timesyncd.service",
	"systemd-remount-fs.service", "systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service",
	"systemd-tmpfiles-clean.timer", "systemd-sysusers.service", "systemd-udevd.service",
	"systemd-udev-trigger.service", "systemd-random-seed.service", "systemd-journal-flush.service",
	"systemd-pstore.service", "e2scrub_reap.service", "console-getty.service", "getty@.service",
	"serial-getty@.service", "systemd-update-utmp.service", "systemd-hwdb-update.service",
	"sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount",
	"sys-fs-fuse-connections.mount", "dev-hugepages.mount", "dev-mqueue.mount",
	"systemd-firstboot.service", "systemd-machine-id-commit.service", "ldconfig.service",
	"systemd-ask-password-console.path", "systemd-ask-password-wall.path",
}

// A private copy of each of these host directories is bind-mounted over it
// inside the namespace; Options add files to the copies.
var private = map[string]string{
	"etc-sd":          "/etc/systemd/system",
	"dbus-system.d":   "/etc/dbus-1/system.d",
	"system-services": "/usr/share/dbus-1/system-services",
	"libexec":         "/usr/libexec",
	"polkit-actions":  "/usr/share/polkit-1/actions",
	"polkit-rules":    "/etc/polkit-1/rules.d",
	// Where packages put units and bus policy (InstalledOptions).
	"lib-sd":              "/usr/lib/systemd/system",
	"dbus-share-system.d": "/usr/share/dbus-1/system.d",
}

// Options say what to install in the namespace before systemd boots.
type Options struct {
	// Files maps a private tree ("etc-sd", "dbus-system.d",
	// "system-services", "libexec", "polkit-actions", "polkit-rules",
	// "lib-sd", "dbus-share-system.d") to file name and content.
	Files map[string]map[string][]byte
	// Modes gives a file mode for some of those files (default 0644).
	Modes map[string]os.FileMode
}

// NS is a running namespace.
type NS struct {
	// Dir is the scratch directory holding the private trees.
	Dir string
	// PID is systemd's PID as seen from the host.
	PID     int
	unshare *exec.Cmd
}

// Boot starts systemd and waits until it is up.
func Boot(opts Options) (*NS, error) {
	// Not under /tmp: the namespace mounts a tmpfs there.
	dir, err := os.MkdirTemp("/var/tmp", "snapm-sysns-")
	if err != nil {
		return nil, err
	}
	ns := &NS{Dir: dir}
	if err := ns.prepare(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var script strings.Builder
	// /etc as a copy-on-write overlay kept in the scratch directory, so
	// that nothing written under /etc inside (snapm's /etc/snapm, a test's
	// /etc/localtime) reaches the host; the private trees are bound on top
	// of it. /etc/snapm is bound from the scratch directory, where tests
	// read and write schedule files from outside, and /boot (snapm's boot
	// entries) is a tmpfs.
	fmt.Fprintf(&script, "mount -t overlay overlay -o lowerdir=/etc,upperdir=%[1]s/etc-upper,workdir=%[1]s/etc-work /etc && "+
		"mkdir -p /etc/snapm && mount --bind %[1]s/etc-snapm /etc/snapm && "+
		"mount -t tmpfs tmpfs /boot && mkdir -p /boot/loader/entries && ", dir)
	for name, target := range private {
		fmt.Fprintf(&script, "mount --bind %s %s && ", filepath.Join(dir, name), target)
	}
	// Fresh /run, /tmp and /var/tmp, and /var as a copy-on-write overlay
	// kept in /run: state directories, PrivateTmp= dirs and journals the
	// namespace writes never reach the host.
	script.WriteString("mount -t tmpfs tmpfs /run && mkdir -p /run/.sysns-var/upper /run/.sysns-var/work && " +
		"mount -t overlay overlay -o lowerdir=/var,upperdir=/run/.sysns-var/upper,workdir=/run/.sysns-var/work /var && " +
		"mount -t tmpfs tmpfs /var/tmp && mount -t tmpfs tmpfs /tmp && " +
		"exec /lib/systemd/systemd --system --unit=basic.target --show-status=no --log-target=console")
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount", "--mount-proc", "--uts",
		"--propagation", "private", "sh", "-c", script.String())
	cmd.Env = append(os.Environ(), "container=unshare")
	// Its own session keeps a terminal's Ctrl-C for us to handle (a clean
	// poweroff); if we die anyway, the namespace dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	log, err := os.Create(filepath.Join(dir, "systemd.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting unshare: %w", err)
	}
	ns.unshare = cmd
	if err := ns.waitUp(); err != nil {
		ns.Shutdown()
		return nil, err
	}
	return ns, nil
}

func (ns *NS) prepare(opts Options) error {
	for name, src := range private {
		if out, err := exec.Command("cp", "-a", src+"/.", filepath.Join(ns.Dir, name)+"/").CombinedOutput(); err != nil {
			return fmt.Errorf("copying %s: %v: %s", src, err, out)
		}
	}
	for _, d := range []string{"etc-upper", "etc-work", "etc-snapm/schedule.d"} {
		if err := os.MkdirAll(filepath.Join(ns.Dir, d), 0o755); err != nil {
			return err
		}
	}
	etc := filepath.Join(ns.Dir, "etc-sd")
	wants, _ := filepath.Glob(filepath.Join(etc, "*.target.wants"))
	for _, w := range wants {
		if err := os.RemoveAll(w); err != nil {
			return err
		}
	}
	for _, u := range masked {
		p := filepath.Join(etc, u)
		os.Remove(p)
		if err := os.Symlink("/dev/null", p); err != nil {
			return err
		}
	}
	for tree, files := range opts.Files {
		for name, data := range files {
			mode := opts.Modes[name]
			if mode == 0 {
				mode = 0o644
			}
			p := filepath.Join(ns.Dir, tree, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, data, mode); err != nil {
				return err
			}
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ns *NS) waitUp() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ns.PID == 0 {
			ns.PID = childOf(ns.unshare.Process.Pid)
		}
		if ns.PID != 0 {
			out, _ := ns.Output(context.Background(), "systemctl", "is-system-running")
			if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(ns.Dir, "systemd.log"))
	return fmt.Errorf("systemd in namespace did not come up; its log:\n%s", log)
}

func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	child, _ := strconv.Atoi(fields[0])
	return child
}

// BusAddress reaches the namespace's system bus from the host.
func (ns *NS) BusAddress() string {
	return fmt.Sprintf("unix:path=/proc/%d/root/run/dbus/system_bus_socket", ns.PID)
}

// Path is where a path inside the namespace's private /etc/systemd/system
// is on the host.
func (ns *NS) UnitDirPath(elem ...string) string {
	return filepath.Join(append([]string{ns.Dir, "etc-sd"}, elem...)...)
}

// SnapmDirPath is where a path inside the namespace's private /etc/snapm
// is on the host.
func (ns *NS) SnapmDirPath(elem ...string) string {
	return filepath.Join(append([]string{ns.Dir, "etc-snapm"}, elem...)...)
}

// Command runs argv inside the namespace as root.
func (ns *NS) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(ns.PID), "-a"}, argv...)...)
}

// CommandAs runs argv inside the namespace as uid (and gid = uid).
func (ns *NS) CommandAs(ctx context.Context, uid int, argv ...string) *exec.Cmd {
	id := strconv.Itoa(uid)
	return ns.Command(ctx, append([]string{"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"}, argv...)...)
}

// Output runs argv inside as root and returns stdout; stderr is in the error.
func (ns *NS) Output(ctx context.Context, argv ...string) (string, error) {
	return output(ns.Command(ctx, argv...))
}

// OutputAs is Output as uid.
func (ns *NS) OutputAs(ctx context.Context, uid int, argv ...string) (string, error) {
	return output(ns.CommandAs(ctx, uid, argv...))
}

func output(cmd *exec.Cmd) (string, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Shutdown powers the namespace off and removes its scratch directory.
func (ns *NS) Shutdown() error {
	poweredOff := false
	if ns.PID != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		poweredOff = ns.Command(ctx, "systemctl", "poweroff").Run() == nil
		cancel()
	}
	done := make(chan error, 1)
	go func() { done <- ns.unshare.Wait() }()
	var err error
	select {
	case err = <-done:
		var exit *exec.ExitError
		if poweredOff && errors.As(err, &exit) {
			err = nil // systemd leaves a container by a signal to its parent; that is the clean way out
		}
	case <-time.After(20 * time.Second):
		syscall.Kill(-ns.unshare.Process.Pid, syscall.SIGKILL)
		err = errors.Join(errors.New("namespace did not power off; killed"), <-done)
	}
	os.RemoveAll(ns.Dir)
	return err
}

// Kill ends the namespace at once, for interactive use where a clean
// poweroff takes too long: SIGKILL to its systemd ends every process inside
// (the kernel does that when a PID namespace's init dies), and nothing
// inside outlives them: its /run, /tmp and /var changes live in its own
// tmpfs. Then it removes the scratch directory.
func (ns *NS) Kill() error {
	if ns.PID != 0 {
		syscall.Kill(ns.PID, syscall.SIGKILL)
	}
	err := ns.unshare.Wait()
	os.RemoveAll(ns.Dir)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil // unshare passes its child's SIGKILL on: that is the expected end
	}
	return err
}
