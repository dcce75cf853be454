package fairrun

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// TestCallerWaitsBehindItsOwn: a caller's flood queues behind its own
// turn, so another caller waits behind at most the flood's computation
// that runs and the one that waits for the slot; with one shared pool it
// waited behind the whole flood (root's preview took 9-12 s instead of
// 19 ms under uid 65534's).
func TestCallerWaitsBehindItsOwn(t *testing.T) {
	r := New(1, time.Minute, zap.NewNop())
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	started := make(chan struct{}, 64)
	work := func(who string) func(func()) {
		return func(func()) {
			mu.Lock()
			order = append(order, who)
			mu.Unlock()
			started <- struct{}{}
			if who == "flood" {
				<-release
			}
		}
	}
	var wg sync.WaitGroup
	const flood = 10
	for range flood {
		wg.Go(func() {
			if err := r.Run("uid 65534", work("flood")); err != nil {
				t.Error(err)
			}
		})
	}
	<-started // the flood computes
	// Let the flood's computations queue up, then root asks, and once it
	// is in (and has had a moment to queue for the slot) the flood goes
	// on.
	waitFor := func(callers int) {
		for in := 0; in < callers; time.Sleep(time.Millisecond) {
			r.mu.Lock()
			in = 0
			for _, turn := range r.turns {
				in += turn.waiting
			}
			r.mu.Unlock()
		}
	}
	waitFor(flood)
	wg.Go(func() {
		if err := r.Run("uid 0", work("root")); err != nil {
			t.Error(err)
		}
	})
	waitFor(flood + 1)
	time.Sleep(50 * time.Millisecond)
	for range flood {
		release <- struct{}{}
	}
	wg.Wait()
	// Behind the computation running and the one waiting for the slot
	// (one more if root was slow to queue for it); the whole flood with
	// one queue for all.
	for i, who := range order {
		if who == "root" && i > 3 {
			t.Errorf("root computed after %d of the flood's computations, want at most 3: %v", i, order)
		}
	}
	if len(r.turns) != 0 {
		t.Errorf("%d callers' turns remembered after their last computation", len(r.turns))
	}
}

// TestBusy: a computation that cannot get its turn in time is refused,
// named, and never runs.
func TestBusy(t *testing.T) {
	r := New(1, 20*time.Millisecond, zap.NewNop())
	hold := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.Run("a", func(func()) { <-hold }) }()
	for len(r.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	ran := false
	if err := r.Run("b", func(func()) { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Errorf("Run while the slot is held = %v (ran %v), want ErrBusy", err, ran)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestLowestPriority: computations run at nice 19 in SCHED_IDLE, on
// threads that then end, so that no other work of the daemon ever runs
// at that priority.
func TestLowestPriority(t *testing.T) {
	r := New(1, time.Minute, zap.NewNop())
	var nice, policy int
	if err := r.Run("a", func(pause func()) {
		raw, _ := unix.Getpriority(unix.PRIO_PROCESS, 0) // the kernel's 20 - nice
		nice = 20 - raw
		attr, _ := unix.SchedGetAttr(0, 0)
		policy = int(attr.Policy)
		pause()
	}); err != nil {
		t.Fatal(err)
	}
	if nice != 19 || policy != unix.SCHED_IDLE {
		t.Errorf("computed at nice %d policy %d, want 19 and SCHED_IDLE (%d)", nice, policy, unix.SCHED_IDLE)
	}
	// The main thread is the exception Go makes: when it was the one, it
	// parks for good instead of ending, and never runs anything again.
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
