// Package fairrun runs computations that any caller may ask for as often
// as it likes, such as calendar previews, so that no caller's flood slows
// anyone else: each caller's computations wait behind that caller's own
// alone, a bounded number compute at once (the slots, taken in turn), and
// each computes on a thread of its own at the lowest priority, resting as
// long as it worked.
package fairrun

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// ErrBusy: the computation waited its longest for its turn.
var ErrBusy = errors.New("too many computations in progress")

// Runner runs computations fairly among callers.
type Runner struct {
	slots chan struct{}
	wait  time.Duration
	log   *zap.Logger
	// lowered tells, once, why threads could not be put at the lowest
	// priority (a seccomp filter, say): they still rest, but compete
	// with the daemon's other work as equals.
	lowered sync.Once

	mu    sync.Mutex
	turns map[string]*turn
}

// turn lets one computation of a caller at a time past it; waiting counts
// the caller's computations in Run, so that the turn is forgotten with
// the last.
type turn struct {
	ch      chan struct{}
	waiting int
}

// New runs at most slots computations at once; one waits at most wait for
// its turn.
func New(slots int, wait time.Duration, log *zap.Logger) *Runner {
	return &Runner{slots: make(chan struct{}, max(1, slots)), wait: wait, log: log, turns: map[string]*turn{}}
}

// Run runs fn for caller once caller's earlier computations are over and
// a slot is free (Go wakes the computations waiting for a slot in the
// order they came, so each caller waits behind at most one computation of
// every other), or returns ErrBusy after the Runner's wait. fn runs on a
// thread of its own at the lowest priority, which ends with it; it calls
// pause between pieces of its work, to rest as long as it worked since
// the last pause: a slot uses at most half a CPU.
func (r *Runner) Run(caller string, fn func(pause func())) error {
	t := r.enter(caller)
	defer r.leave(caller)
	timeout := time.NewTimer(r.wait)
	defer timeout.Stop()
	select {
	case t.ch <- struct{}{}:
		defer func() { <-t.ch }()
	case <-timeout.C:
		return ErrBusy
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-timeout.C:
		return ErrBusy
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		r.lowestPriority()
		last := threadCPU()
		fn(func() {
			time.Sleep(threadCPU() - last)
			last = threadCPU()
		})
	}()
	<-done
	return nil
}

func (r *Runner) enter(caller string) *turn {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.turns[caller]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		r.turns[caller] = t
	}
	t.waiting++
	return t
}

func (r *Runner) leave(caller string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.turns[caller]
	t.waiting--
	if t.waiting == 0 {
		delete(r.turns, caller)
	}
}

// lowestPriority puts the calling thread in SCHED_IDLE at nice 19: it runs
// only when nothing else of the daemon wants the CPU. Both are lowering
// one's own priority, which needs no privilege, but a seccomp filter
// (@resources) refuses them.
func (r *Runner) lowestPriority() {
	err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
	if err == nil {
		err = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
	}
	if err != nil {
		r.lowered.Do(func() {
			r.log.Warn("cannot lower the priority of preview threads; they compete with the daemon's other work, resting as long as they work",
				zap.Error(err))
		})
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
