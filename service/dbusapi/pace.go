package dbusapi

import (
	"context"
	"sync"
	"time"
)

// Each question to polkit costs polkitd about a millisecond of CPU (its
// rules are JavaScript) and the bus two messages; a user with no right to
// anything could keep asking as fast as the bus carries the calls, and
// take a CPU from everyone. So each user's questions are paced: a burst
// at once, then polkitRate a second, the rest waiting their turn (within
// the call's timeout). Root never asks, and a user allowed by polkit is
// paced too but never refused for it.
const (
	polkitBurst    = 20
	polkitInterval = 50 * time.Millisecond // 20 a second
	// maxPaced bounds the users remembered; those whose pace has caught up
	// with the clock are forgotten first.
	maxPaced = 1024
)

// pacer paces each uid's questions (the generic cell rate algorithm: a
// theoretical arrival time per uid, moved on by the interval per question).
type pacer struct {
	mu  sync.Mutex
	tat map[uint32]time.Time
}

// reserve books uid's next question at now and returns how long it must
// wait before asking.
func (p *pacer) reserve(uid uint32, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tat == nil {
		p.tat = map[uint32]time.Time{}
	}
	if _, ok := p.tat[uid]; !ok && len(p.tat) >= maxPaced {
		for u, t := range p.tat {
			if t.Before(now) {
				delete(p.tat, u)
			}
		}
	}
	tat := p.tat[uid]
	if tat.Before(now) {
		tat = now
	}
	wait := tat.Sub(now) - (polkitBurst-1)*polkitInterval
	p.tat[uid] = tat.Add(polkitInterval)
	return max(wait, 0)
}

// wait waits for uid's turn to ask polkit, or for ctx to end.
func (p *pacer) wait(ctx context.Context, uid uint32) error {
	d := p.reserve(uid, time.Now())
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
