package logging

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// maxLimitKeys bounds the keys a Limiter remembers; past it, new keys
// share one more.
const maxLimitKeys = 256

// Limiter keeps floods out of the journal: it lets through at most burst
// lines per key (a caller, say) in each window, and counts the rest. The
// count comes with the key's next line let through, so that the journal
// says how much it was spared; one key's flood never silences another's.
type Limiter struct {
	burst  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*limit
}

type limit struct {
	start time.Time // of the key's current window
	lines int       // let through in it
	held  uint64    // held back since the key's last line
}

// NewLimiter lets burst lines per key through in each window.
func NewLimiter(burst int, window time.Duration) *Limiter {
	return &Limiter{burst: burst, window: window, now: time.Now, keys: map[string]*limit{}}
}

// Allow tells whether a line for key may be written now and, if so, the
// field to add to it: how many lines for key were held back before it
// (zap.Skip when none were).
func (l *Limiter) Allow(key string) (ok bool, held zap.Field) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= maxLimitKeys {
			l.forgetIdle(now)
		}
		if len(l.keys) >= maxLimitKeys {
			key = ""
		}
		if k = l.keys[key]; k == nil {
			k = &limit{start: now}
			l.keys[key] = k
		}
	}
	if now.Sub(k.start) >= l.window {
		k.start, k.lines = now, 0
	}
	if k.lines >= l.burst {
		k.held++
		return false, zap.Skip()
	}
	k.lines++
	held, k.held = suppressed(k.held), 0
	return true, held
}

// forgetIdle drops the keys whose window is over and that hold nothing
// back: they would start afresh anyway.
func (l *Limiter) forgetIdle(now time.Time) {
	for key, k := range l.keys {
		if k.held == 0 && now.Sub(k.start) >= l.window {
			delete(l.keys, key)
		}
	}
}

// suppressed is the field saying how many like lines were held back
// before this one; none when n is 0.
func suppressed(n uint64) zap.Field {
	if n == 0 {
		return zap.Skip()
	}
	return zap.Uint64("suppressed", n)
}
