package coalesce

import (
	"context"
	"fmt"
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
		g.batch.mu.Lock()
		waiting := len(g.batch.waiting)
		g.batch.mu.Unlock()
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

// Items brought while a run is under way go together into the next run,
// and each caller gets its own item's answer.
func TestBatchRunsWaitingItemsTogether(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var runs [][]int
	b := &Batch[int]{Fn: func(_ context.Context, items []int) []error {
		mu.Lock()
		runs = append(runs, items)
		mu.Unlock()
		<-release
		errs := make([]error, len(items))
		for i, n := range items {
			if n%2 == 1 {
				errs[i] = fmt.Errorf("odd %d", n)
			}
		}
		return errs
	}}
	first := make(chan error)
	go func() { first <- b.Do(context.Background(), 0) }()
	for b.Runs() != 1 {
		runtime.Gosched()
	}
	const n = 10
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() { errs[i] = b.Do(context.Background(), i) })
	}
	for {
		b.mu.Lock()
		waiting := len(b.waiting)
		b.mu.Unlock()
		if waiting == n {
			break
		}
		runtime.Gosched()
	}
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("item 0: %v", err)
	}
	release <- struct{}{}
	wg.Wait()
	if len(runs) != 2 || len(runs[1]) != n {
		t.Fatalf("runs %v, want [0] and then the %d others together", runs, n)
	}
	for i := 1; i <= n; i++ {
		if want := i%2 == 1; (errs[i] != nil) != want {
			t.Errorf("item %d answered %v", i, errs[i])
		}
	}
}
