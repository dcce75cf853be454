package dbusapi

import (
	"testing"
	"time"
)

// A user's questions to polkit come at once up to the burst, then one per
// interval; another user is not held back by the first, and a user who
// paused has its burst again.
func TestPacer(t *testing.T) {
	var p pacer
	now := time.Unix(1000, 0)
	for i := range polkitBurst {
		if d := p.reserve(65534, now); d != 0 {
			t.Fatalf("question %d of the burst waits %v", i+1, d)
		}
	}
	for i := 1; i <= 3; i++ {
		if d := p.reserve(65534, now); d != time.Duration(i)*polkitInterval {
			t.Errorf("question %d past the burst waits %v, want %v", i, d, time.Duration(i)*polkitInterval)
		}
	}
	if d := p.reserve(1000, now); d != 0 {
		t.Errorf("another user waits %v behind the first's flood", d)
	}
	later := now.Add(time.Duration(polkitBurst+3) * polkitInterval)
	for i := range polkitBurst {
		if d := p.reserve(65534, later); d != 0 {
			t.Fatalf("after a pause, question %d waits %v", i+1, d)
		}
	}
}

// The users remembered are bounded; those caught up with the clock go
// first.
func TestPacerBounded(t *testing.T) {
	var p pacer
	now := time.Unix(1000, 0)
	for uid := range uint32(3 * maxPaced) {
		p.reserve(uid, now)
		now = now.Add(polkitInterval)
	}
	if len(p.tat) > maxPaced {
		t.Errorf("%d users remembered, at most %d", len(p.tat), maxPaced)
	}
}
