package coalesce

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Callers that arrive during a run share the next one, and every caller is
// answered by a run that began after it asked.
func TestGroupSharesRunsAndNeverAnswersEarly(t *testing.T) {
	t.Parallel()
	var started atomic.Int64
	release := make(chan struct{})
	g := &Group{Fn: func(context.Context) error {
		started.Add(1)
		<-release
		return nil
	}}
	first := make(chan error)
	go func() { first <- g.Do(context.Background()) }()
	for started.Load() != 1 {
		runtime.Gosched()
	}
	// These ask while run 1 is under way: run 1 must not answer them.
	const n = 20
	var wg sync.WaitGroup
	var answered atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Do(context.Background()); err != nil {
				t.Error(err)
			}
			answered.Add(1)
		}()
	}
	for {
		g.mu.Lock()
		waiting := len(g.waiting)
		g.mu.Unlock()
		if waiting == n {
			break
		}
		runtime.Gosched()
	}
	release <- struct{}{} // ends run 1
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if answered.Load() != 0 {
		t.Fatal("a caller that asked during run 1 was answered by it")
	}
	release <- struct{}{} // ends run 2, which serves all twenty
	wg.Wait()
	if got := g.Runs(); got != 2 {
		t.Errorf("%d runs for 21 callers in two waves, want 2", got)
	}
}

func TestGroupHonoursCallerContext(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	g := &Group{Fn: func(context.Context) error { <-block; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx); err != context.Canceled {
		t.Errorf("Do with a cancelled context = %v", err)
	}
}
