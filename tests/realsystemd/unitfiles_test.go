package realsystemd

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/unitfiles"
)

// TestUnitFileStatesAgreeWithSystemd: the states unitfiles reads from the
// symlinks are the ones systemd's GetUnitFileState reports, for every way
// a timer's unit file can be set up.
func TestUnitFileStatesAgreeWithSystemd(t *testing.T) {
	conn := connect(t)
	const tmpl = "/etc/systemd/system/snapm-gc@.timer"
	unit := func(name string) string { return "snapm-gc@uf-" + name + ".timer" }
	setups := map[string][][]string{
		"disabled":        nil,
		"enabled":         {{"systemctl", "enable", "--no-reload", unit("enabled")}},
		"enabled-runtime": {{"systemctl", "enable", "--runtime", "--no-reload", unit("enabled-runtime")}},
		"masked":          {{"systemctl", "mask", "--no-reload", unit("masked")}},
		"masked-runtime":  {{"systemctl", "mask", "--runtime", "--no-reload", unit("masked-runtime")}},
		"both":            {{"systemctl", "enable", "--no-reload", unit("both")}, {"systemctl", "enable", "--runtime", "--no-reload", unit("both")}},
		"enabled-masked-runtime": {{"systemctl", "enable", "--no-reload", unit("enabled-masked-runtime")},
			{"systemctl", "mask", "--runtime", "--no-reload", unit("enabled-masked-runtime")}},
		"other-target": {{"mkdir", "-p", "/etc/systemd/system/multi-user.target.wants"},
			{"ln", "-s", tmpl, "/etc/systemd/system/multi-user.target.wants/" + unit("other-target")}},
		"masked-enabled-runtime": {{"systemctl", "enable", "--runtime", "--no-reload", unit("masked-enabled-runtime")},
			{"systemctl", "mask", "--no-reload", unit("masked-enabled-runtime")}},
		"masked-both": {{"systemctl", "mask", "--no-reload", unit("masked-both")}, {"systemctl", "mask", "--runtime", "--no-reload", unit("masked-both")}},
		"requires": {{"mkdir", "-p", "/etc/systemd/system/uf.target.requires"},
			{"ln", "-s", tmpl, "/etc/systemd/system/uf.target.requires/" + unit("requires")}},
		"upholds": {{"mkdir", "-p", "/etc/systemd/system/uf.target.upholds"},
			{"ln", "-s", tmpl, "/etc/systemd/system/uf.target.upholds/" + unit("upholds")}},
		"broken-link": {{"mkdir", "-p", "/etc/systemd/system/uf.target.wants"},
			{"ln", "-s", "/nonexistent/snapm-gc@.timer", "/etc/systemd/system/uf.target.wants/" + unit("broken-link")}},
		"wants-dir-is-a-link": {{"mkdir", "-p", "/srv/uf-wants"},
			{"ln", "-s", tmpl, "/srv/uf-wants/" + unit("wants-dir-is-a-link")},
			{"ln", "-sfn", "/srv/uf-wants", "/etc/systemd/system/uf-linked.target.wants"}},
		"other-name-in-wants": {{"mkdir", "-p", "/etc/systemd/system/uf.target.wants"},
			{"ln", "-s", "/etc/systemd/system/" + unit("other-name-in-wants"), "/etc/systemd/system/uf.target.wants/uf-other-name.timer"}},
	}
	var units []string
	for name, cmds := range setups {
		units = append(units, unit(name))
		for _, argv := range cmds {
			inNS(t, argv...)
		}
		t.Cleanup(func() {
			ns.Output(testCtx(t), "systemctl", "unmask", "--runtime", "--no-reload", unit(name))
			ns.Output(testCtx(t), "systemctl", "unmask", "--no-reload", unit(name))
			ns.Output(testCtx(t), "systemctl", "disable", "--runtime", "--no-reload", unit(name))
			ns.Output(testCtx(t), "systemctl", "disable", "--no-reload", unit(name))
			ns.Output(testCtx(t), "rm", "-rf", "/etc/systemd/system/multi-user.target.wants/"+unit(name), "/etc/systemd/system/uf.target.requires",
				"/etc/systemd/system/uf.target.upholds", "/etc/systemd/system/uf.target.wants", "/etc/systemd/system/uf-linked.target.wants", "/srv/uf-wants")
		})
	}
	dirs := unitfiles.Dirs{Persistent: ns.UnitDirPath(), Runtime: fmt.Sprintf("/proc/%d/root/run/systemd/system", ns.PID)}
	got, err := unitfiles.States(dirs, units)
	if err != nil {
		t.Fatal(err)
	}
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	for _, u := range units {
		var want string
		if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnitFileState", 0, u).Store(&want); err != nil {
			t.Fatal(err)
		}
		if got[u] != want {
			t.Errorf("%s: unitfiles says %q, systemd %q", u, got[u], want)
		}
		if one, known, err := unitfiles.State(dirs, u); one != want || !known || err != nil {
			t.Errorf("%s: unitfiles.State says %q (known %v, %v), systemd %q", u, one, known, err, want)
		}
	}
	// A unit file of its own, one linked from elsewhere, or an alias of
	// the template is left to systemd.
	own := "snapm-gc@uf-own.timer"
	if err := os.WriteFile(ns.UnitDirPath(own), []byte("[Timer]\nOnCalendar=daily\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(ns.UnitDirPath(own)) })
	linked := unit("linked")
	inNS(t, "sh", "-c", "mkdir -p /srv/uf && cp /etc/systemd/system/snapm-gc@.timer /srv/uf/"+linked)
	inNS(t, "systemctl", "link", "--no-reload", "/srv/uf/"+linked)
	t.Cleanup(func() { ns.Output(context.Background(), "systemctl", "disable", "--no-reload", linked) })
	alias := unit("alias")
	inNS(t, "ln", "-s", tmpl, "/etc/systemd/system/"+alias)
	t.Cleanup(func() { ns.Output(context.Background(), "rm", "-f", "/etc/systemd/system/"+alias) })
	for _, u := range []string{own, linked, alias} {
		got, err = unitfiles.States(dirs, []string{u})
		if _, ok := got[u]; ok || err != nil {
			t.Errorf("%s, a unit with a file of its own: %q %v", u, got[u], err)
		}
		if one, known, err := unitfiles.State(dirs, u); known || err != nil {
			t.Errorf("%s, a unit with a file of its own: unitfiles.State says %q (known), %v", u, one, err)
		}
	}
}

// TestOwnEnablesCostNoResync: the UnitFilesChanged that our own Enable and
// Disable make systemd send cost no re-read of every timer; only someone
// else's change of unit files does. The daemon logs its resyncs as it stops.
func TestOwnEnablesCostNoResync(t *testing.T) {
	restart := func() string {
		inNS(t, "systemctl", "restart", "snapm-timersd.service")
		return strings.TrimPrefix(inNS(t, "systemctl", "show", "-p", "InvocationID", "snapm-timersd.service"), "InvocationID=")
	}
	invocation := restart()
	conn := connect(t)
	const k = 6
	for i := range k {
		path := create(t, conn, "create", fmt.Sprintf("own-files%d", i), "daily")
		mustCall(t, conn, path, timerIf+".Enable")
		mustCall(t, conn, path, timerIf+".Disable")
	}
	restart()
	journal := inNS(t, "journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_INVOCATION_ID="+invocation)
	m := regexp.MustCompile(`full_resyncs=(\d+)`).FindStringSubmatch(journal)
	if m == nil {
		t.Fatalf("no count of resyncs as the daemon stopped:\n%s", journal)
	}
	n, _ := strconv.Atoi(m[1])
	t.Logf("%d resyncs for %d Enables and Disables of our own", n, k)
	if n >= k {
		t.Errorf("%d resyncs for %d Enables and Disables of our own, want fewer than %d", n, k, k)
	}
}

// TestOthersFileChangesSeenBesideOurs: filechanges.go's verdict on each
// UnitFilesChanged of the real systemd, told by what the daemon then
// shows. Someone else's disable of a timer, with nothing of ours in
// flight or while our own Enables and Disables of other timers are, is
// seen: systemd never signals UnitFileState, so a signal of someone
// else's taken for ours would leave the timer shown running.
func TestOthersFileChangesSeenBesideOurs(t *testing.T) {
	conn := connect(t)
	const unit = "snapm-create@others-target.timer"
	target := createRunning(t, conn, "create", "others-target", "hourly")
	waitStatus := func(t *testing.T, want string) {
		t.Helper()
		for deadline := time.Now().Add(hangGuard); status(t, conn, target) != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s is-enabled %q, the daemon still shows %q, want %q",
					unit, systemctlState(t, "is-enabled", unit), status(t, conn, target), want)
			}
		}
	}
	roundTrip := func(t *testing.T) {
		t.Helper()
		inNS(t, "systemctl", "disable", unit)
		waitStatus(t, "invalid")
		mustCall(t, conn, target, timerIf+".Enable")
		waitStatus(t, "running")
	}
	t.Run("nothing of ours in flight", roundTrip)
	t.Run("ours in flight", func(t *testing.T) {
		var busy []dbus.ObjectPath
		for i := range 4 {
			busy = append(busy, create(t, conn, "create", fmt.Sprintf("others-busy%d", i), "daily"))
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		defer func() {
			close(stop)
			wg.Wait()
		}()
		for _, path := range busy {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, method := range []string{"Enable", "Disable"} {
						if err := call(t, conn, path, timerIf+"."+method).Err; err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		for range 5 {
			roundTrip(t)
		}
	})
	mustCall(t, conn, target, timerIf+".Disable")
}

// BenchmarkUnitFileState: a timer's unit file state read from the symlinks
// (unitfiles.State, what the daemon does) beside asking systemd
// (GetUnitFileState, which walks every .wants directory), with 1,000
// timers enabled.
func BenchmarkUnitFileState(b *testing.B) {
	const wants = "/etc/systemd/system/timers.target.wants"
	inNS(b, "sh", "-c", `mkdir -p `+wants+` && cd `+wants+` && i=0 && while [ $i -lt 1000 ]; do ln -sf /etc/systemd/system/snapm-gc@.timer snapm-gc@bench$i.timer; i=$((i+1)); done`)
	b.Cleanup(func() { ns.Output(context.Background(), "sh", "-c", "rm -f "+wants+"/snapm-gc@bench*.timer") })
	const unit = "snapm-gc@bench7.timer"
	sd := connect(b).Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	dirs := unitfiles.Dirs{Persistent: ns.UnitDirPath(), Runtime: fmt.Sprintf("/proc/%d/root/run/systemd/system", ns.PID)}
	b.Run("systemd GetUnitFileState", func(b *testing.B) {
		for b.Loop() {
			var state string
			if err := sd.Call("org.freedesktop.systemd1.Manager.GetUnitFileState", 0, unit).Store(&state); err != nil || state != "enabled" {
				b.Fatal(state, err)
			}
		}
	})
	b.Run("unitfiles.State", func(b *testing.B) {
		for b.Loop() {
			if state, known, err := unitfiles.State(dirs, unit); err != nil || !known || state != "enabled" {
				b.Fatal(state, known, err)
			}
		}
	})
}
