// Tests of NextElapse moving on as the clock passes it, and of how long the
// elapse loop sleeps.

package timers

import (
	"testing"
	"time"
)

func TestAdvanceElapses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		spec string
		// advance is how far the clock moves after the timer is made.
		advance   time.Duration
		wantNext  time.Time // zero: never elapses
		wantSleep time.Duration
		wantEvent bool
	}{
		"a future elapse stays; sleep until it": {
			spec: "hourly", advance: 10 * time.Minute,
			wantNext: epoch.Truncate(time.Hour).Add(time.Hour), wantSleep: 20*time.Minute + time.Microsecond,
		},
		"a passed elapse moves on and is published": {
			spec: "hourly", advance: 45 * time.Minute,
			wantNext: epoch.Truncate(time.Hour).Add(2 * time.Hour), wantSleep: 45*time.Minute + time.Microsecond, wantEvent: true,
		},
		"several passed elapses move on to the next one to come": {
			spec: "*:0/5", advance: 17 * time.Minute,
			wantNext: epoch.Add(20 * time.Minute), wantSleep: 3*time.Minute + time.Microsecond, wantEvent: true,
		},
		"far elapses sleep at most an hour (the wall clock may jump)": {
			spec: "monthly", advance: time.Minute,
			wantNext: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), wantSleep: maxElapseSleep,
		},
		"an expression whose last elapse passed never elapses again": {
			spec: "2026-01-01 11:00:00", advance: time.Hour,
			wantSleep: maxElapseSleep, wantEvent: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			s := mustCreate(t, e, "create", "elapsing", tc.spec)
			e.obs.take()
			e.clock.Set(epoch.Add(tc.advance))
			sleep := e.m.advanceElapses()
			got, _ := e.m.Get("create", "elapsing")
			var wantNext uint64
			if !tc.wantNext.IsZero() {
				wantNext = usec(tc.wantNext)
			}
			if got.NextElapse != wantNext || sleep != tc.wantSleep {
				t.Errorf("NextElapse %v, sleep %v; want %v, %v", time.UnixMicro(int64(got.NextElapse)).UTC(), sleep, tc.wantNext, tc.wantSleep)
			}
			want := s
			want.NextElapse, want.Occurs = wantNext, wantNext != 0
			if got != want {
				t.Errorf("snapshot %+v\nwant     %+v", got, want)
			}
			events := e.obs.take()
			if tc.wantEvent != (len(events) == 1) || (len(events) == 1 && events[0] != (event{"changed", want})) {
				t.Errorf("published %+v, want one change: %t", events, tc.wantEvent)
			}
		})
	}
}
