package systemd

import (
	"context"
	"sync"

	"github.com/godbus/dbus/v5"
)

// maxEarly bounds the results kept for jobs nobody waits for (yet).
const maxEarly = 4096

// jobTracker pairs JobRemoved signals with the callers waiting for them. A
// result can arrive before its waiter registers (the signal and the reply
// are handled by different goroutines), so while any call is in flight,
// unclaimed results are kept for a while.
type jobTracker struct {
	mu       sync.Mutex
	inFlight int
	waiters  map[dbus.ObjectPath]chan string
	early    map[dbus.ObjectPath]string
	order    []dbus.ObjectPath
}

func (j *jobTracker) init() {
	j.waiters = map[dbus.ObjectPath]chan string{}
	j.early = map[dbus.ObjectPath]string{}
}

func (j *jobTracker) begin() {
	j.mu.Lock()
	j.inFlight++
	j.mu.Unlock()
}

func (j *jobTracker) end() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.inFlight--
	if j.inFlight == 0 {
		clear(j.early)
		j.order = j.order[:0]
	}
}

func (j *jobTracker) removed(job dbus.ObjectPath, result string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ch, ok := j.waiters[job]; ok {
		delete(j.waiters, job)
		ch <- result
		return
	}
	if j.inFlight == 0 {
		return
	}
	if len(j.order) >= maxEarly {
		delete(j.early, j.order[0])
		j.order = j.order[1:]
	}
	j.early[job] = result
	j.order = append(j.order, job)
}

func (j *jobTracker) wait(ctx context.Context, job dbus.ObjectPath) (string, error) {
	j.mu.Lock()
	if result, ok := j.early[job]; ok {
		delete(j.early, job)
		j.mu.Unlock()
		return result, nil
	}
	ch := make(chan string, 1)
	j.waiters[job] = ch
	j.mu.Unlock()
	select {
	case result := <-ch:
		return result, nil
	case <-ctx.Done():
		j.mu.Lock()
		delete(j.waiters, job)
		j.mu.Unlock()
		return "", ctx.Err()
	}
}
