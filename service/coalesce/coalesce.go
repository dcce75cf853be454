// Package coalesce shares runs of an expensive action (a systemd
// daemon-reload, an EnableUnitFiles call) among every caller that needs it
// at the same time.
package coalesce

import (
	"context"
	"sync"
)

// Batch runs Fn on the items its callers bring. A caller is only ever
// answered by a run that started after it asked, so whatever it changed
// before asking is seen by the run; the items brought while a run is under
// way go together into the next one.
type Batch[T any] struct {
	// Fn does the work for items and answers each of them: errs has one
	// entry per item, in order. ctx is the Batch's own, not a caller's,
	// since the run serves several callers.
	Fn func(ctx context.Context, items []T) (errs []error)
	// Ctx bounds every run (the daemon's lifetime); nil means Background.
	Ctx context.Context

	mu      sync.Mutex
	running bool
	waiting []request[T]
	runs    uint64
}

type request[T any] struct {
	item   T
	answer chan error
}

// Do asks for item to go into a run and waits for its answer or for ctx.
// An item whose caller gave up may still be run.
func (b *Batch[T]) Do(ctx context.Context, item T) error {
	ch := make(chan error, 1)
	b.mu.Lock()
	b.waiting = append(b.waiting, request[T]{item: item, answer: ch})
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Runs is how many times Fn has been started.
func (b *Batch[T]) Runs() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs
}

// loop runs while anyone waits; it ends, and a later Do starts another,
// once no one does.
func (b *Batch[T]) loop() {
	ctx := b.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		b.mu.Lock()
		batch := b.waiting
		b.waiting = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.runs++
		b.mu.Unlock()
		items := make([]T, len(batch))
		for i, r := range batch {
			items[i] = r.item
		}
		errs := b.Fn(ctx, items)
		for i, r := range batch {
			r.answer <- errs[i]
		}
	}
}

// Group runs an idempotent Fn for its callers, who bring nothing but the
// need for a run: callers that arrive while a run is under way share the
// next.
type Group struct {
	Fn func(ctx context.Context) error
	// Ctx bounds every run (the daemon's lifetime); nil means Background.
	Ctx context.Context

	once  sync.Once
	batch Batch[struct{}]
}

// Do asks for a run and waits for its result or for ctx.
func (g *Group) Do(ctx context.Context) error {
	g.once.Do(func() {
		g.batch.Ctx = g.Ctx
		g.batch.Fn = func(ctx context.Context, callers []struct{}) []error {
			return Same(len(callers), g.Fn(ctx))
		}
	})
	return g.batch.Do(ctx, struct{}{})
}

// Runs is how many times Fn has been started.
func (g *Group) Runs() uint64 { return g.batch.Runs() }

// Same is n answers of err, for a run whose outcome is everyone's.
func Same(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
