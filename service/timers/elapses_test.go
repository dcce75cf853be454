// Tests of NextElapse moving on as the clock passes it, and of how long the
// elapse loop sleeps.

package timers

import (
	"context"
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
			want.NextElapse, want.CalendarNext, want.Occurs = wantNext, wantNext, wantNext != 0
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

// TestElapseMidOperation: an elapse published while Enable or Disable is
// half done shows the timer as it was or as it ends, never the half (a
// drop-in without its enablement, or the reverse, is an invalid timer).
func TestElapseMidOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	key := mustCreate(t, e, "create", "mid", "minutely").Key
	e.sd.done = func(string) {
		// The keeper runs just as systemd answers: a minute has passed.
		e.clock.Set(e.clock.Now().Add(time.Minute))
		e.m.advanceElapses()
	}
	e.obs.take()
	for _, op := range []func(context.Context, Key) (Snapshot, error){e.m.Enable, e.m.Disable} {
		if _, err := op(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	var statuses []Status
	for _, ev := range e.obs.take() {
		statuses = append(statuses, ev.Status)
		if ev.Status == StatusInvalid {
			t.Errorf("published %s %s: Enabled %t, Running %t", ev.Key, ev.Status, ev.Enabled, ev.Running)
		}
	}
	if len(statuses) < 4 {
		t.Errorf("statuses published %v: the keeper did not publish mid-operation", statuses)
	}
}
