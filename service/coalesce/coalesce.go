// Package coalesce shares one run of an expensive idempotent action (a
// systemd daemon-reload, a state-file rewrite) among every caller that
// needs it at the same time.
package coalesce

import (
	"context"
	"sync"
)

// Group runs Fn for its callers. A caller is only ever answered by a run
// that started after it asked, so whatever it changed before asking is seen
// by the run; callers that arrive while a run is under way share the next.
type Group struct {
	// Fn does the work; ctx is the Group's own, not a caller's, since the
	// run serves several callers.
	Fn func(ctx context.Context) error
	// Ctx bounds every run (the daemon's lifetime); nil means Background.
	Ctx context.Context

	mu      sync.Mutex
	running bool
	waiting []chan error
	runs    uint64
}

// Do asks for a run and waits for its result or for ctx.
func (g *Group) Do(ctx context.Context) error {
	ch := make(chan error, 1)
	g.mu.Lock()
	g.waiting = append(g.waiting, ch)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Runs is how many times Fn has been started.
func (g *Group) Runs() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.runs
}

func (g *Group) loop() {
	ctx := g.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		g.mu.Lock()
		batch := g.waiting
		g.waiting = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.runs++
		g.mu.Unlock()
		err := g.Fn(ctx)
		for _, ch := range batch {
			ch <- err
		}
	}
}
