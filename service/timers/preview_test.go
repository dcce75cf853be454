package timers

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/snapm/snapm-timersd/service/calendar"
)

func previewManager(t *testing.T) *Manager {
	return managerWith(t, calendar.Engine{Host: calendar.UTC})
}

// managerWith is a manager for previews alone: they need none of its
// background work, so it is not run.
func managerWith(t *testing.T, cal Calendar) *Manager {
	return NewManager(Config{Calendar: cal, Log: zap.NewNop(), UnitDir: t.TempDir(), StateDir: t.TempDir()})
}

func TestParseCalendarAt(t *testing.T) {
	m := previewManager(t)
	const base = 1767225600000000 // 2026-01-01 00:00:00 UTC
	for name, tc := range map[string]struct {
		spec       string
		n          uint32
		normalized string
		next       []uint64
		err        error
	}{
		"strictly after base":  {spec: "daily", n: 3, normalized: "*-*-* 00:00:00", next: []uint64{base + 86400e6, base + 2*86400e6, base + 3*86400e6}},
		"across chunks":        {spec: "hourly", n: 20, normalized: "*-*-* *:00:00", next: hours(base, 20)},
		"stops elapsing":       {spec: "2026-01-02", n: 5, normalized: "2026-01-02 00:00:00", next: []uint64{base + 86400e6}},
		"never":                {spec: "2000-01-01", n: 5, normalized: "2000-01-01 00:00:00", next: []uint64{}},
		"validation only":      {spec: "weekly", n: 0, normalized: "Mon *-*-* 00:00:00", next: []uint64{}},
		"too many iterations":  {spec: "daily", n: 1001, err: ErrInvalidArgument},
		"invalid":              {spec: "bogus", n: 1, err: ErrInvalidCalendar},
		"full 1000, realistic": {spec: "Mon..Fri 02:30", n: 1000, normalized: "Mon..Fri *-*-* 02:30:00"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.n == 1000 && raceDetector {
				t.Skip("a full preview's fit in its budget of CPU time is measured without the race detector")
			}
			normalized, next, err := m.ParseCalendarAt(tc.spec, base, tc.n)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || normalized != tc.normalized {
				t.Fatalf("= %q, %v; want %q", normalized, err, tc.normalized)
			}
			if tc.next != nil && !slices.Equal(next, tc.next) {
				t.Errorf("next = %v, want %v", next, tc.next)
			}
			if tc.next == nil && len(next) != int(tc.n) {
				t.Errorf("%d elapses, want %d", len(next), tc.n)
			}
		})
	}
}

func hours(base uint64, n int) []uint64 {
	var out []uint64
	for i := 1; i <= n; i++ {
		out = append(out, base+uint64(i)*3600e6)
	}
	return out
}

// A preview over its budget is refused with a named error, from many
// callers at once, and every call returns. The budget is shrunk so that
// the costliest expression known (about 10 ms of CPU) is over it.
func TestParseCalendarBudget(t *testing.T) {
	m := previewManager(t)
	defer func(b time.Duration) { previewBudget = b }(previewBudget)
	previewBudget = time.Millisecond
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = m.ParseCalendarAt("Sat *-*~07/1", 1767225600000000, 1000) })
	}
	wg.Wait()
	for _, err := range errs {
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "budget") {
			t.Fatalf("err = %v, want InvalidArgument over the budget", err)
		}
	}
	// Fewer iterations of it fit.
	if _, next, err := m.ParseCalendarAt("Sat *-*~07/1", 1767225600000000, 8); err != nil || len(next) != 8 {
		t.Fatalf("8 iterations: %d elapses, %v", len(next), err)
	}
}

// countingCalendar records how many previews compute at once.
type countingCalendar struct {
	calendar.Engine
	mu        sync.Mutex
	now, peak int
}

func (c *countingCalendar) Elapses(spec string, at time.Time, n int) (string, []uint64, error) {
	c.mu.Lock()
	c.now++
	c.peak = max(c.peak, c.now)
	c.mu.Unlock()
	time.Sleep(time.Millisecond)
	defer func() { c.mu.Lock(); c.now--; c.mu.Unlock() }()
	return c.Engine.Elapses(spec, at, n)
}

// However many callers preview at once, at most the slots compute.
func TestParseCalendarSlots(t *testing.T) {
	cal := &countingCalendar{Engine: calendar.Engine{Host: calendar.UTC}}
	m := managerWith(t, cal)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, _, err := m.ParseCalendarAt("hourly", 1767225600000000, 20); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if cal.peak > cap(previewSlots) {
		t.Errorf("%d previews computed at once, at most %d slots", cal.peak, cap(previewSlots))
	}
}

// niceCalendar records the nice value of the thread that computes.
type niceCalendar struct {
	calendar.Engine
	nice []int
}

func (c *niceCalendar) Elapses(spec string, at time.Time, n int) (string, []uint64, error) {
	raw, _ := unix.Getpriority(unix.PRIO_PROCESS, 0) // the kernel's 20 - nice
	c.nice = append(c.nice, 20-raw)
	return c.Engine.Elapses(spec, at, n)
}

// Previews compute at the lowest priority, on threads that then end, so
// that no other work of the daemon ever runs niced.
func TestParseCalendarNiced(t *testing.T) {
	cal := &niceCalendar{Engine: calendar.Engine{Host: calendar.UTC}}
	m := managerWith(t, cal)
	if _, _, err := m.ParseCalendarAt("hourly", 1767225600000000, 20); err != nil {
		t.Fatal(err)
	}
	for _, n := range cal.nice {
		if n != 19 {
			t.Fatalf("previews computed at nice %v, want 19", cal.nice)
		}
	}
	// No thread is left at that priority once the threads that computed
	// have ended (they end just after answering). The main thread is the
	// exception Go makes: when it was the one, it parks for good instead
	// of ending, and never runs anything again.
	deadline := time.Now().Add(10 * time.Second)
	for niced := nicedThreads(); len(niced) > 0; niced = nicedThreads() {
		if time.Now().After(deadline) {
			t.Fatalf("threads %v stayed niced", niced)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func nicedThreads() []string {
	var out []string
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if task.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		stat, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue
		}
		// After "pid (comm) ", the nice value is the 17th field.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if fields[16] != "0" {
			out = append(out, task.Name())
		}
	}
	return out
}
