package calendar

import (
	"errors"
	"syscall"
)

// maxIterations is systemd's safety valve against an endless search.
const maxIterations = 1000

// maxUsec is the last instant systemd can format, 9999-12-30 23:59:59.
const maxUsec = 253402214399999999

// ErrNever is returned when an expression will not elapse (again).
var ErrNever = errors.New("the expression never elapses")

// Next returns the first elapse strictly after the CLOCK_REALTIME
// microsecond usec, or ErrNever. It follows systemd 252's search, DST
// quirks included: a wall time a spring-forward gap skips is skipped, an
// hour a fall-back repeats matches once.
func (c *Spec) Next(usec uint64) (uint64, error) {
	if usec > maxUsec {
		return 0, syscall.EINVAL
	}
	usec++
	clk := &clock{z: c.zone}
	if c.utc {
		clk.z = UTC
	}
	t := int64(usec / usecPerSec)
	cur := clk.breakDown(t)
	frac := int(usec % usecPerSec)
	if err := c.findNext(clk, &cur, &frac); err != nil {
		return 0, err
	}
	secs, ok := clk.mktime(&cur)
	if !ok || secs < 0 {
		return 0, syscall.EINVAL
	}
	return uint64(secs)*usecPerSec + uint64(frac), nil
}

func (c *clock) breakDown(t int64) tm {
	if c.z.utc {
		return gmtimeTM(t)
	}
	return c.localtime(t)
}

// findMatching moves *val to the earliest value at or after it that the
// chain allows (day numbers counted from the month's end for '~'); it
// reports whether *val changed, and false, false when nothing matches.
func (c *Spec) findMatching(clk *clock, chain []component, eom bool, cur *tm, val *int) (changed, found bool) {
	if chain == nil {
		return false, true
	}
	best, have := -1, false
	for _, k := range chain {
		start, stop := k.start, k.stop
		if eom {
			start = clk.endOfMonth(cur, k.start)
			stop = clk.endOfMonth(cur, k.stop)
			if stop > 0 {
				start, stop = stop, start
			}
		}
		if start >= *val {
			if !have || start < best {
				best, have = start, true
			}
		} else if k.repeat > 0 {
			next := start + k.repeat*((*val-start+k.repeat-1)/k.repeat)
			if (!have || next < best) && (stop < 0 || next <= stop) {
				best, have = next, true
			}
		}
	}
	if !have {
		return false, false
	}
	changed = *val != best
	*val = best
	return changed, true
}

// endOfMonth is the day of cur's month that is `back` days before the
// first of the next month, or -1 when that is not in the month.
func (clk *clock) endOfMonth(cur *tm, back int) int {
	t := *cur
	t.mon++
	t.mday = 1 - back
	if secs, ok := clk.mktime(&t); !ok || secs < 0 || t.mon != cur.mon {
		return -1
	}
	return t.mday
}

// withinBounds normalizes a copy of *cur; if that moved it forward (the
// date did not exist), *cur becomes the normalized time with the field
// below the one that moved reset (normalizing 3-33 to 4-2 must not skip
// 4-1), and the result is 0.
//
// Only that one field is reset, not all below it: a day repeat running
// past December 31 lands on January 3 with just the month reset, so
// "*-*-1/11" skips January 1 (systemd issue #40260, fixed after 252).
// systemd 252 is what runs here, so its answer is the one to give. It is 1 when nothing moved, and an error past
// the year 2199, on a failed conversion, or when normalization went
// backward.
func (clk *clock) withinBounds(cur *tm) (int, error) {
	if cur.year > maxYear {
		return 0, syscall.ERANGE
	}
	t := *cur
	if secs, ok := clk.mktime(&t); !ok || secs < 0 {
		return 0, syscall.EOVERFLOW
	}
	cmp := compareFields(&t, cur)
	switch {
	case t.year != cur.year:
		t.mon = 0
	case t.mon != cur.mon:
		t.mday = 1
	case t.mday != cur.mday:
		t.hour = 0
	case t.hour != cur.hour:
		t.min = 0
	case t.min != cur.min:
		t.sec = 0
	}
	if cmp < 0 {
		return 0, syscall.EDEADLK // never go backward
	}
	if cmp > 0 {
		*cur = t
		return 0, nil
	}
	return 1, nil
}

// compareFields orders two broken-down times by their fields.
func compareFields(a, b *tm) int {
	for _, d := range [][2]int{{a.year, b.year}, {a.mon, b.mon}, {a.mday, b.mday},
		{a.hour, b.hour}, {a.min, b.min}, {a.sec, b.sec}} {
		if c := sign(d[0] - d[1]); c != 0 {
			return c
		}
	}
	return 0
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func (c *Spec) matchesWeekday(clk *clock, cur *tm) bool {
	if c.weekdays < 0 || c.weekdays >= allDays {
		return true
	}
	t := *cur
	if secs, ok := clk.mktime(&t); !ok || secs < 0 {
		return false
	}
	k := 6
	if t.wday != 0 {
		k = t.wday - 1
	}
	return c.weekdays&(1<<k) != 0
}

// findNext is systemd's find_next(): settle each field from the year down,
// and start over whenever a field had to move or the date did not exist.
func (c *Spec) findNext(clk *clock, out *tm, outFrac *int) error {
	cur, frac := *out, *outFrac
	// Set once a DST change made the search land before its start: from
	// then on mktime decides daylight time by itself.
	invalidateDST := false
	resetBelow := func(level int) {
		// level: 0 year, 1 month, 2 day, 3 hour, 4 minute, 5 second
		if level < 1 {
			cur.mon = 0
		}
		if level < 2 {
			cur.mday = 1
		}
		if level < 3 {
			cur.hour = 0
		}
		if level < 4 {
			cur.min = 0
		}
		cur.sec, frac = 0, 0
	}
	// settle matches one field (stored in *field, matched as
	// *field+offset). On no match, or a date that does not exist, it
	// carries into the next larger field and the search starts over;
	// it also starts over when normalization moved the time.
	settle := func(level int, chain []component, eom bool, field *int, offset int, carry *int) bool {
		v := *field + offset
		changed, ok := c.findMatching(clk, chain, eom, &cur, &v)
		*field = v - offset
		if changed {
			resetBelow(level)
		}
		r, err := c.bounds(clk, &cur, ok)
		if err != nil {
			*carry++
			resetBelow(level - 1)
			return false
		}
		// r == 0: the hour (say) may not exist on a DST change: go
		// again from the normalized time.
		return r == 1
	}

	for range maxIterations {
		clk.mktime(&cur)
		if !invalidateDST {
			cur.isdst = c.dst
		}

		changed, ok := c.findMatching(clk, c.year, false, &cur, &cur.year)
		if changed {
			resetBelow(0)
		}
		if !ok {
			return ErrNever
		}
		if r, err := clk.withinBounds(&cur); err != nil || r == 0 {
			return ErrNever
		}

		if !settle(1, c.month, false, &cur.mon, 1, &cur.year) ||
			!settle(2, c.day, c.endOfMonth, &cur.mday, 0, &cur.mon) {
			continue
		}
		if !c.matchesWeekday(clk, &cur) {
			cur.mday++
			resetBelow(2)
			continue
		}
		if !settle(3, c.hour, false, &cur.hour, 0, &cur.mday) ||
			!settle(4, c.minute, false, &cur.min, 0, &cur.hour) {
			continue
		}

		us := cur.sec*usecPerSec + frac
		_, ok = c.findMatching(clk, c.usec, false, &cur, &us)
		frac = us % usecPerSec
		cur.sec = us / usecPerSec
		if r, err := c.bounds(clk, &cur, ok); err != nil {
			cur.min++
			resetBelow(4)
			continue
		} else if r == 0 {
			continue
		}

		// Stuck before the start (a DST change mapped the time back)?
		// Step an hour on and let mktime find daylight time itself.
		r := compareFields(out, &cur)
		if r == 0 {
			r = sign(*outFrac - (frac + 1))
		}
		if r >= 0 {
			invalidateDST = true
			cur.hour++
			continue
		}
		*out, *outFrac = cur, frac
		return nil
	}
	return syscall.EDEADLK
}

// bounds is "no match, or the date does not exist or went backward" (an
// error: move the next larger field on) versus withinBounds' 0 and 1.
func (c *Spec) bounds(clk *clock, cur *tm, found bool) (int, error) {
	if !found {
		return 0, ErrNever
	}
	return clk.withinBounds(cur)
}
