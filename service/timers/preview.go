// The calendar preview frontends show while a user types.
//
// Locks: none; it reads no timer. Previews are open to every caller, so
// they share a bounded number of slots, each has a budget of CPU time, and
// each computes at the lowest priority resting as long as it worked: a
// flood of them from unprivileged connections uses at most half a CPU per
// slot and never delays the timer operations, which do not pass through
// the slots.

package timers

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapm/snapm-timersd/service/calendar"
)

// previewBudget is the CPU time one preview may use: twice the costliest
// seen (1000 elapses of '*-*-1,15 03:00 Europe/Berlin', about 23 ms; of
// 'Sat *-*~07/1', 10 ms). It bounds what one call can take from the others.
var previewBudget = 50 * time.Millisecond

const (
	// previewWait bounds the wait for a slot, well under a D-Bus client's
	// default 25 s timeout.
	previewWait = 15 * time.Second
	// previewChunk elapses are computed between two looks at the clock.
	previewChunk = 8
)

// previewSlots are the previews that may compute at once: half the CPUs,
// at least one. Package-wide because the CPUs are.
var previewSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// ParseCalendar is the preview frontends show while a user types: the
// normalized form and the next n elapses from now (none if it never
// elapses). It changes nothing.
func (m *Manager) ParseCalendar(spec string, n uint32) (string, []uint64, error) {
	return m.ParseCalendarAt(spec, uint64(m.cfg.Now().UnixMicro()), n)
}

// ParseCalendarAt is ParseCalendar from the CLOCK_REALTIME microsecond
// base instead of now, as systemd-analyze calendar --base-time.
func (m *Manager) ParseCalendarAt(spec string, base uint64, n uint32) (string, []uint64, error) {
	if n > calendar.MaxIterations {
		return "", nil, fmt.Errorf("%w: %d iterations asked for, at most %d", ErrInvalidArgument, n, calendar.MaxIterations)
	}
	if err := calendar.CheckText(spec); err != nil {
		return "", nil, err
	}
	if n == 0 {
		// Validation alone: a parse, cheap and bounded by MaxLen.
		normalized, _, err := m.cfg.Calendar.Elapses(spec, usecTime(base), 0)
		return normalized, []uint64{}, err
	}
	select {
	case previewSlots <- struct{}{}:
		defer func() { <-previewSlots }()
	case <-time.After(previewWait):
		return "", nil, fmt.Errorf("%w: too many calendar previews in progress; try again", ErrInvalidArgument)
	}
	return m.budgetedElapses(spec, base, int(n))
}

// budgetedElapses computes the elapses a chunk at a time on a thread of
// its own at the lowest priority, so that the kernel runs systemd,
// the bus and the daemon's other work first, and the thread's CPU clock
// measures this preview's work alone (not the wait for a CPU on a busy
// machine). The thread ends with the computation: it never goes back to
// the runtime with its low priority.
func (m *Manager) budgetedElapses(spec string, base uint64, n int) (string, []uint64, error) {
	type result struct {
		normalized string
		next       []uint64
		err        error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		lowestPriority()
		normalized, next, err := m.elapsesWithin(spec, base, n, threadCPU()+previewBudget)
		done <- result{normalized, next, err}
	}()
	r := <-done
	return r.normalized, r.next, r.err
}

// elapsesWithin computes n elapses unless the thread's CPU clock passes
// deadline first.
func (m *Manager) elapsesWithin(spec string, base uint64, n int, deadline time.Duration) (string, []uint64, error) {
	next := make([]uint64, 0, n)
	var normalized string
	for cur := base; len(next) < n; {
		before := threadCPU()
		want := min(previewChunk, n-len(next))
		norm, chunk, err := m.cfg.Calendar.Elapses(spec, usecTime(cur), want)
		if err != nil {
			return "", nil, err
		}
		normalized = norm
		next = append(next, chunk...)
		if len(chunk) < want {
			break // it stops elapsing
		}
		cur = chunk[len(chunk)-1]
		// As long a rest as the work took: previews use at most half a CPU.
		time.Sleep(threadCPU() - before)
		if threadCPU() > deadline && len(next) < n {
			return "", nil, fmt.Errorf("%w: the preview of %q is over its budget of %v of computation after %d of %d elapses; ask for fewer",
				ErrInvalidArgument, spec, previewBudget, len(next), n)
		}
	}
	return normalized, next, nil
}

// lowestPriority puts the calling thread in SCHED_IDLE at nice 19: it runs
// only when nothing else of the daemon wants the CPU. Failing leaves it at
// the daemon's priority, where the budget still bounds it.
func lowestPriority() {
	unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0) //nolint:errcheck // see above
	unix.Setpriority(unix.PRIO_PROCESS, 0, 19)                                                    //nolint:errcheck // see above
}

func usecTime(u uint64) time.Time { return time.UnixMicro(int64(u)) }

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
