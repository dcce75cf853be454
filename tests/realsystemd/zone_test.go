package realsystemd

import (
	"strings"
	"testing"
	"time"
)

// TestZoneChangeFollowed: after the system's zone changes (the
// namespace's private /etc/localtime replaced as timedatectl
// set-timezone replaces it), a timer's NextElapse and the previews follow
// the new zone, as systemd's own timers do; they once stayed in the zone
// the daemon started in until a restart.
//
// Not timedatectl itself: timedated also tells the kernel the zone
// (settimeofday), which is not namespaced, and the kernel's first such
// call since boot warps the host's clock by the zone's offset.
func TestZoneChangeFollowed(t *testing.T) {
	conn := connect(t)
	path := create(t, conn, "create", "zoned", "daily")
	t.Cleanup(func() { call(t, conn, rootPath, managerIf+".RemoveTimer", path) })
	setZone := func(target string) {
		inNS(t, "sh", "-c", `ln -sfn "$1" /etc/.localtime.new && mv -Tf /etc/.localtime.new /etc/localtime`, "sh", target)
	}
	orig := strings.TrimSpace(inNS(t, "readlink", "/etc/localtime"))
	t.Cleanup(func() { setZone(orig) })
	ch := watch(t, conn, path)
	// Zones far apart, so that the next midnight differs from the last.
	for _, zone := range []string{"Pacific/Kiritimati", "America/Los_Angeles", "Etc/UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().In(loc)
		want := uint64(time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc).UnixMicro())
		start := time.Now()
		setZone("/usr/share/zoneinfo/" + zone)
		waitProps(t, conn, ch, path, map[string]any{"NextElapse": want, "Normalized": "*-*-* 00:00:00"})
		t.Logf("%s: NextElapse followed in %v", zone, time.Since(start).Round(time.Millisecond))
		var normalized string
		var next []uint64
		if err := mustCall(t, conn, rootPath, managerIf+".ParseCalendar", "daily", uint32(1)).Store(&normalized, &next); err != nil {
			t.Fatal(err)
		}
		if len(next) != 1 || next[0] != want {
			t.Errorf("%s: the preview of daily says %v, want %d", zone, next, want)
		}
	}
}
