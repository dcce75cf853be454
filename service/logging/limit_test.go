package logging

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// A flood from one key writes burst lines a window; the next line let
// through says how many were held back, and another key is never held
// back by the flood.
func TestLimiter(t *testing.T) {
	var out bytes.Buffer
	log := zap.New(NewCore(&out, zap.DebugLevel, true))
	now := time.Unix(1000, 0)
	l := NewLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	refuse := func(key string) {
		if ok, held := l.Allow(key); ok {
			log.Warn("call refused", zap.String("key", key), held)
		}
	}
	for range 300 {
		refuse("65534")
	}
	refuse("1000")
	now = now.Add(time.Minute)
	refuse("65534")
	want := strings.Repeat("<4>call refused key=65534\n", 3) +
		"<4>call refused key=1000\n" +
		"<4>call refused key=65534 suppressed=297\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// The keys remembered are bounded: past the bound, new keys share one,
// and idle keys are forgotten to make room.
func TestLimiterKeysBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(1, time.Minute)
	l.now = func() time.Time { return now }
	for i := range 10 * maxLimitKeys {
		l.Allow(strings.Repeat("k", i%50) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(l.keys) > maxLimitKeys+1 { // the one they share
		t.Errorf("%d keys remembered, at most %d", len(l.keys), maxLimitKeys+1)
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Allow("new"); !ok {
		t.Error("a new key after the window was held back")
	}
	if _, ok := l.keys["new"]; !ok {
		t.Error("idle keys were not forgotten to make room")
	}
}
