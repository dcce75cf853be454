// No flash: an invalid state seen from outside is held back for a while
// rather than published at once. snapm writes a drop-in before it enables
// the unit, and disables the unit before it removes the drop-in: for a
// moment each time, the drop-in is there and the unit file is not enabled,
// and under load a daemon-reload in between makes that moment longer and
// brings others. Published, each is a red "invalid" in every frontend on
// every snapm command. A state that lasts the settle time is published; the
// outcome of the daemon's own operations is published at once.
// Needed by: TestSnapmSequencesDoNotFlash.
//
// Locks: the fields are Timer.mu's; the elapse keeper (elapses.go)
// publishes what has been held for the settle time.

package timers

import "time"

// DefaultSettleTime is how long a state that snapm passes through may
// last before it is published as the invalid state it is (Timer.settle,
// the daemon's --settle-time).
const DefaultSettleTime = time.Second

// holdBack tells whether s must not be published yet, starting the
// settle time when s is the first of its kind; t.mu held.
func (t *Timer) holdBack(s Snapshot) bool {
	if s.Status != StatusInvalid {
		t.settleUntil, t.heldBack = time.Time{}, false
		return false
	}
	if t.settleUntil.IsZero() {
		t.settleUntil = t.now().Add(t.settle)
		t.wake()
	}
	t.heldBack = t.held()
	return t.heldBack
}

// held tells whether a state of t is being held back; t.mu held.
func (t *Timer) held() bool {
	return !t.settleUntil.IsZero() && t.now().Before(t.settleUntil)
}

// settled publishes t if what it held back has lasted the settle time by now,
// and returns when it must be looked at again (zero: never); t.mu held.
func (t *Timer) settled(now time.Time, obs Observer) time.Time {
	if !t.heldBack {
		// Nothing withheld: a state made final (settleNow) waits for its
		// publication by whoever reads it.
		return time.Time{}
	}
	if now.Before(t.settleUntil) {
		return t.settleUntil
	}
	t.publish(obs)
	return time.Time{}
}

// settleNow makes whatever t is in now final: the outcome of the daemon's
// own operations, and what it finds at start-up or when a CreateTimer
// runs into a drop-in, is published as it is; t.mu held.
func (t *Timer) settleNow() {
	t.settleUntil = t.now()
}
