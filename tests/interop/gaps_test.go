package interop

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// gapWatch polls, as fast as it can, whether each timer of a schedule has
// its drop-in and its timers.target.wants link, and keeps every span in
// which one is there without the other: the invalid states snapm passes
// through, which the daemon's settle time must outlast. An enable span
// (snapm's create and enable: drop-in, then EnableUnitFiles) ends with
// the link; a disable span (disable and delete: DisableUnitFiles, a
// daemon-reload, then the drop-in's removal) ends with the drop-in gone,
// and the daemon starts its settle time again when systemd's reload
// ends, so what must fit in it is the rest of the span after the last
// reload (Reloading false).
type gapWatch struct {
	mu      sync.Mutex
	enable  []time.Duration
	disable []time.Duration // from the span's start
	after   []time.Duration // from the last reload's end within it
	reloads []time.Time     // ends of systemd's reloads
	stop    context.CancelFunc
	done    chan struct{}
}

func watchGaps(b *testing.B, name string) *gapWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &gapWatch{stop: cancel, done: make(chan struct{})}
	conn := connect(b)
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.systemd1.Manager"), dbus.WithMatchMember("Reloading")); err != nil {
		b.Fatal(err)
	}
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	// Each reload's end, stamped as it arrives.
	go func() {
		for sig := range sigs {
			if active, ok := sig.Body[0].(bool); ok && !active {
				w.mu.Lock()
				w.reloads = append(w.reloads, time.Now())
				w.mu.Unlock()
			}
		}
	}()
	b.Cleanup(func() { conn.RemoveSignal(sigs); close(sigs) })
	type timer struct {
		dropIn, link string
		since        time.Time // when dropIn and link began to differ; zero if they agree
	}
	var timers []*timer
	for _, unit := range []string{"snapm-create@" + name + ".timer", "snapm-gc@" + name + ".timer"} {
		timers = append(timers, &timer{dropIn: ns.UnitDirPath(unit+".d", "10-oncalendar.conf"), link: ns.UnitDirPath("timers.target.wants", unit)})
	}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			for _, tm := range timers {
				now := time.Now()
				_, dErr := os.Lstat(tm.dropIn)
				_, lErr := os.Lstat(tm.link)
				switch differ := (dErr == nil) != (lErr == nil); {
				case differ && tm.since.IsZero():
					tm.since = now
				case !differ && !tm.since.IsZero():
					w.span(tm.since, now, lErr == nil)
					tm.since = time.Time{}
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return w
}

// span records a span from start to end that ended with the link there
// (enable) or not (disable).
func (w *gapWatch) span(start, end time.Time, linked bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if linked {
		w.enable = append(w.enable, end.Sub(start))
		return
	}
	w.disable = append(w.disable, end.Sub(start))
	from := start
	for _, r := range w.reloads {
		if r.After(from) && r.Before(end) {
			from = r
		}
	}
	w.after = append(w.after, end.Sub(from))
}

func (w *gapWatch) report(b *testing.B) {
	w.stop()
	<-w.done
	for _, kind := range []struct {
		name  string
		spans []time.Duration
	}{{"enable", w.enable}, {"disable", w.disable}, {"disable-after-reload", w.after}} {
		if len(kind.spans) == 0 {
			b.Fatalf("no %s span seen: the watch missed snapm's steps", kind.name)
		}
		slices.Sort(kind.spans)
		at := func(q float64) time.Duration { return kind.spans[int(q*float64(len(kind.spans)-1))] }
		b.ReportMetric(float64(at(0.95).Microseconds())/1000, kind.name+"-p95-ms")
		b.ReportMetric(float64(kind.spans[len(kind.spans)-1].Microseconds())/1000, kind.name+"-max-ms")
		b.Logf("%d %s spans, p50 %v, p95 %v, max %v", len(kind.spans), kind.name,
			at(0.5).Round(time.Millisecond), at(0.95).Round(time.Millisecond), kind.spans[len(kind.spans)-1].Round(time.Millisecond))
	}
}

// BenchmarkSnapmGaps measures the invalid spans (see gapWatch) of snapm
// 0.7's create, disable, enable and delete: the figures the daemon's
// settle time (-settle-time, 1 s by default) is chosen from. "busy" runs
// them with every processor kept busy by spinning shells. Run it with
// a count of cycles:
//
//	go test -run '^$' -bench SnapmGaps -benchtime 10x ./tests/interop/
func BenchmarkSnapmGaps(b *testing.B) {
	for _, busy := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "busy"}[busy], func(b *testing.B) {
			const name = "gaps"
			deleteAtEnd(b, name)
			if busy {
				// Processes, not goroutines: the kernel shares the
				// processors with the watch finely, where Go's scheduler
				// would starve it for 10 ms at a time.
				for range runtime.NumCPU() {
					spin := exec.Command("sh", "-c", "while :; do :; done")
					if err := spin.Start(); err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { spin.Process.Kill(); spin.Wait() })
				}
			}
			w := watchGaps(b, name)
			for b.Loop() {
				for _, args := range [][]string{
					{"create", "--policy-type", "count", "--keep-count", "2", "--calendarspec", "hourly", name, "/"},
					{"disable", name}, {"enable", name}, {"delete", name},
				} {
					snapm(b, append([]string{"schedule"}, args...)...)
				}
			}
			w.report(b)
		})
	}
}
