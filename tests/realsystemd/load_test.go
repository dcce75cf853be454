package realsystemd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/snapm/snapm-timersd/service/daemon"
	"github.com/snapm/snapm-timersd/service/timers"
	"github.com/snapm/snapm-timersd/tests/nstest"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

const (
	loadClients = 32
	loadTimers  = 200
	loadOps     = 3000
	// The heap is read after each round; the first warms up, the slope
	// over the rest is what an operation leaves behind.
	loadRounds = 12
	// maxHeapSlope is the growth per operation the heap may show: a leak
	// of a kilobyte per operation must fail; what the daemon's background
	// work (resyncs after reloads, elapses) holds when a round ends moves
	// the reading by a few hundred kilobytes, and must not.
	maxHeapSlope = 768
	// hotTimers take a quarter of all operations, so several clients
	// work on the same timer at once.
	hotTimers = 4
)

// loadOp is one kind of operation, with the errors it may meet because
// another client got to the timer first.
type loadOp struct {
	name     string
	weight   int
	expected string // an error name that is not a failure, or ""
	do       func(conn *dbus.Conn, path dbus.ObjectPath) error
}

func timerCall(method string, args ...any) func(*dbus.Conn, dbus.ObjectPath) error {
	return func(conn *dbus.Conn, path dbus.ObjectPath) error {
		// A hang guard: past the daemon's own CallTimeout (a minute), so
		// that a machine slowed down answers late rather than fails.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return conn.Object(busName, path).CallWithContext(ctx, method, 0, args...).Err
	}
}

var loadMix = []loadOp{
	{"Enable", 20, "", timerCall(timerIf + ".Enable")},
	{"Start", 20, errPrefix + "NotEnabled", timerCall(timerIf + ".Start")},
	{"Stop", 15, "", timerCall(timerIf + ".Stop")},
	{"Disable", 12, "", timerCall(timerIf + ".Disable")},
	{"SetCalendarSpec", 8, "", timerCall(timerIf+".SetCalendarSpec", "Mon..Fri 06:30")},
	{"Get Status", 20, "", timerCall(propsIf+".Get", timerIf, "Status")},
	{"GetManagedObjects", 5, "", func(conn *dbus.Conn, _ dbus.ObjectPath) error {
		return conn.Object(busName, rootPath).Call("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Err
	}},
}

func pickOp(r *rand.Rand) loadOp {
	total := 0
	for _, op := range loadMix {
		total += op.weight
	}
	n := r.IntN(total)
	for _, op := range loadMix {
		if n < op.weight {
			return op
		}
		n -= op.weight
	}
	panic("unreachable")
}

// TestLoad runs the daemon in this process (so goleak and the heap can
// see it) against the namespace's real systemd and bus, and has 32 clients
// do 3,000 mixed operations on 200 timers.
func TestLoad(t *testing.T) {
	// The installed daemon must not be activated while this one serves.
	inNS(t, "systemctl", "mask", "--runtime", "snapm-timersd.service")
	inNS(t, "systemctl", "stop", "snapm-timersd.service")
	t.Cleanup(func() { inNS(t, "systemctl", "unmask", "--runtime", "snapm-timersd.service") })
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	// The daemon's log keeps only its engine's disagreements with systemd
	// (the installed daemon's show in its journal): nothing else is kept,
	// or the log would be what the heap grows by.
	disagreements := newDisagreementLog()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{BusAddress: ns.BusAddress(), UnitDir: ns.UnitDirPath(),
			RuntimeUnitDir: fmt.Sprintf("/proc/%d/root/run/systemd/system", ns.PID),
			StateDir:       t.TempDir(), ScheduleDir: ns.SnapmDirPath("schedule.d"), CallTimeout: time.Minute, Log: zap.New(disagreements)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon.Run: %v", err)
		}
		for _, e := range disagreements.entries() {
			t.Errorf("engine and systemd disagree: %s", e)
		}
	})

	clients := make([]*dbus.Conn, loadClients)
	for i := range clients {
		c, err := dbus.Connect(ns.BusAddress())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients[i] = c
	}
	admin := clients[0]
	waitName(t, admin)
	reloads, err := sysns.CountReloads(admin)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]dbus.ObjectPath, loadTimers)
	for i := range paths {
		// Create timers only: the rounds change calendars, which a gc
		// timer's is not.
		withSchedule(t, "create", fmt.Sprintf("load-%03d", i), "daily")
		if err := admin.Object(busName, rootPath).Call(managerIf+".CreateTimer", 0, "create", fmt.Sprintf("load-%03d", i), "daily").Store(&paths[i]); err != nil {
			t.Fatalf("CreateTimer %d: %v", i, err)
		}
	}

	var (
		mu         sync.Mutex
		latencies  []time.Duration
		unexpected []string
		expected   int
		heap       []uint64
	)
	began := time.Now()
	for round := 0; round < loadRounds; round++ {
		var wg sync.WaitGroup
		perClient := loadOps / loadRounds / loadClients
		for c, conn := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(round), uint64(c)))
				for range perClient + boolInt(c < loadOps/loadRounds%loadClients) {
					path := paths[r.IntN(loadTimers)]
					if r.IntN(4) == 0 {
						path = paths[r.IntN(hotTimers)]
					}
					op := pickOp(r)
					start := time.Now()
					err := op.do(conn, path)
					took := time.Since(start)
					mu.Lock()
					latencies = append(latencies, took)
					switch {
					case err == nil:
					case op.expected != "" && errName(err) == op.expected:
						expected++
					default:
						unexpected = append(unexpected, fmt.Sprintf("%s on %s: %v", op.name, path, err))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = append(heap, ms.HeapAlloc)
	}
	elapsed := time.Since(began)

	if len(latencies) != loadOps {
		t.Errorf("%d operations ran, want %d", len(latencies), loadOps)
	}
	for _, u := range unexpected {
		t.Error(u)
	}
	// The final state equals systemd's own view, timer by timer, and is
	// one our operations leave.
	mismatches := 0
	for i, path := range paths {
		unit := fmt.Sprintf("snapm-create@load-%03d.timer", i)
		got, facts := status(t, admin, path), statusFromFacts(t, admin, unit)
		if got != facts || facts == "invalid" {
			mismatches++
			t.Errorf("%s: status %s, disk and systemd say %s", unit, got, facts)
		}
	}
	slices.Sort(latencies)
	p := func(q int) time.Duration { return latencies[(len(latencies)-1)*q/100] }
	slope := heapSlope(heap[1:], float64(loadOps/loadRounds))
	summary := fmt.Sprintf("TestLoad: %d clients, %d operations on %d timers in %v: %.0f ops/s; latency p50 %v, p99 %v, max %v; "+
		"heap %+.0f B/operation; daemon-reloads %d",
		loadClients, len(latencies), loadTimers, elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(),
		p(50).Round(time.Microsecond), p(99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond),
		slope, reloads.Count())
	t.Log(summary)
	testSummary(t, summary)
	t.Logf("errors: %d unexpected, %d expected (Start of a timer another client had disabled); state mismatches: %d",
		len(unexpected), expected, mismatches)
	t.Logf("heap after each round of %d operations: %v", loadOps/loadRounds, mib(heap))
	if slope > maxHeapSlope {
		t.Errorf("the heap grows by %.0f bytes per operation (at most %d): %v", slope, maxHeapSlope, mib(heap))
	}

	for _, path := range paths {
		if err := admin.Object(busName, rootPath).Call(managerIf+".RemoveTimer", 0, path).Err; err != nil {
			t.Errorf("RemoveTimer %s: %v", path, err)
		}
	}
}

// heapSlope fits a line through the heap sizes read every step operations
// (least squares) and returns its slope, in bytes per operation.
func heapSlope(heap []uint64, step float64) float64 {
	n := float64(len(heap))
	var sx, sy, sxx, sxy float64
	for i, h := range heap {
		x, y := float64(i)*step, float64(h)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// testSummary adds line to what `make test` shows after the suite.
func testSummary(t *testing.T, line string) {
	if err := nstest.Summary(line); err != nil {
		t.Error(err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mib(bytes []uint64) []string {
	out := make([]string, len(bytes))
	for i, b := range bytes {
		out[i] = fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return out
}

// disagreementLog is a zap core that keeps the entries marked
// timers.Disagreement and drops the rest.
type disagreementLog struct {
	marked bool // the logger's own fields carry the mark
	mu     *sync.Mutex
	kept   *[]string
}

func newDisagreementLog() *disagreementLog {
	return &disagreementLog{mu: &sync.Mutex{}, kept: new([]string)}
}

func (d *disagreementLog) Enabled(zapcore.Level) bool { return true }

func (d *disagreementLog) With(fields []zapcore.Field) zapcore.Core {
	return &disagreementLog{marked: d.marked || hasMark(fields), mu: d.mu, kept: d.kept}
}

func (d *disagreementLog) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return ce.AddCore(e, d)
}

func (d *disagreementLog) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if !d.marked && !hasMark(fields) {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	d.mu.Lock()
	*d.kept = append(*d.kept, fmt.Sprintf("%s %v", e.Message, enc.Fields))
	d.mu.Unlock()
	return nil
}

func (d *disagreementLog) Sync() error { return nil }

func (d *disagreementLog) entries() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(*d.kept)
}

func hasMark(fields []zapcore.Field) bool {
	return slices.ContainsFunc(fields, func(f zapcore.Field) bool { return f.Equals(timers.Disagreement) })
}

func waitName(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil {
			return
		}
	}
	t.Fatal("the in-process daemon did not claim its name")
}
