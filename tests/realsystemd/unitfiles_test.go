package realsystemd

import (
	"context"
	"fmt"
	"os"
	"testing"

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
			ns.Output(testCtx(t), "rm", "-f", "/etc/systemd/system/multi-user.target.wants/"+unit(name))
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
	// A unit file of its own, or one linked from elsewhere, is left to
	// systemd.
	own := "snapm-gc@uf-own.timer"
	if err := os.WriteFile(ns.UnitDirPath(own), []byte("[Timer]\nOnCalendar=daily\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(ns.UnitDirPath(own)) })
	linked := unit("linked")
	inNS(t, "sh", "-c", "mkdir -p /srv/uf && cp /etc/systemd/system/snapm-gc@.timer /srv/uf/"+linked)
	inNS(t, "systemctl", "link", "--no-reload", "/srv/uf/"+linked)
	t.Cleanup(func() { ns.Output(context.Background(), "systemctl", "disable", "--no-reload", linked) })
	for _, u := range []string{own, linked} {
		got, err = unitfiles.States(dirs, []string{u})
		if _, ok := got[u]; ok || err != nil {
			t.Errorf("%s, a unit with a file of its own: %q %v", u, got[u], err)
		}
		if one, known, err := unitfiles.State(dirs, u); known || err != nil {
			t.Errorf("%s, a unit with a file of its own: unitfiles.State says %q (known), %v", u, one, err)
		}
	}
}
