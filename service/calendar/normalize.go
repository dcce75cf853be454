// Normalizing and validating a parsed expression: the canonical shape
// systemd prints, and the ranges it enforces.

package calendar

import (
	"fmt"
	"slices"
	"strconv"
)

// normalize brings the expression to the canonical shape systemd prints.
func (c *Spec) normalize() {
	if c.timezone == "UTC" {
		c.utc, c.timezone = true, ""
	}
	if c.weekdays <= 0 || c.weekdays >= allDays {
		c.weekdays = -1
	}
	if c.endOfMonth && c.day == nil {
		c.endOfMonth = false
	}
	for i := range c.year {
		c.year[i].start = fullYear(c.year[i].start)
		c.year[i].stop = fullYear(c.year[i].stop)
	}
	for _, ch := range []*[]component{&c.year, &c.month, &c.day, &c.hour, &c.minute, &c.usec} {
		*ch = normalizeChain(*ch)
	}
}

// fullYear reads two-digit years: 0..69 as 20xx, 70..99 as 19xx.
func fullYear(y int) int {
	switch {
	case y >= 0 && y < 70:
		return y + 2000
	case y >= 70 && y < 100:
		return y + 1900
	}
	return y
}

func normalizeChain(ch []component) []component {
	for i := range ch {
		k := &ch[i]
		// The range ends on a value the repeat reaches.
		if k.stop > k.start && k.repeat > 0 {
			k.stop -= (k.stop - k.start) % k.repeat
		}
		// A repeat that never fires, or a one-value range, is a constant.
		if (k.stop > k.start && k.repeat > 0 && k.start+k.repeat > k.stop) || k.start == k.stop {
			k.repeat, k.stop = 0, -1
		}
	}
	slices.SortFunc(ch, compareComponents)
	return slices.CompactFunc(ch, func(a, b component) bool { return a == b })
}

func compareComponents(a, b component) int {
	switch {
	case a.start != b.start:
		return a.start - b.start
	case a.stop != b.stop:
		return a.stop - b.stop
	}
	return a.repeat - b.repeat
}

var fields = []struct {
	name     string
	from, to int
	get      func(*Spec) []component
}{
	{"year", minYear, maxYear, func(c *Spec) []component { return c.year }},
	{"month", 1, 12, func(c *Spec) []component { return c.month }},
	{"day", 1, 31, func(c *Spec) []component { return c.day }},
	{"hour", 0, 23, func(c *Spec) []component { return c.hour }},
	{"minute", 0, 59, func(c *Spec) []component { return c.minute }},
	{"second", 0, 60*usecPerSec - 1, func(c *Spec) []component { return c.usec }},
}

// validate checks every value against its field's range, and that every
// repeat can fire at least once.
func (c *Spec) validate() error {
	for _, f := range fields {
		from, to := f.from, f.to
		eom := f.name == "day" && c.endOfMonth
		show := strconv.Itoa
		if f.name == "second" {
			show = formatUsec
		}
		for _, k := range f.get(c) {
			if eom {
				// At most 28 days back from the end of a month, and 252
				// takes three more off for each further value in the list
				// (its check recurses with the reduced bound): "~1,27" is
				// refused where "~27" is not.
				to -= 3
			}
			switch {
			case k.start < from || k.start > to:
				return fmt.Errorf("%s %s out of range %s..%s", f.name, show(k.start), show(from), show(to))
			case k.repeat > to-from:
				return fmt.Errorf("%s repeat /%s longer than the whole range %s..%s", f.name, show(k.repeat), show(from), show(to))
			case k.stop >= 0 && (k.stop < from || k.stop > to):
				return fmt.Errorf("%s %s out of range %s..%s", f.name, show(k.stop), show(from), show(to))
			case k.stop >= 0 && k.start+k.repeat > k.stop:
				return fmt.Errorf("%s range %s..%s is empty", f.name, show(k.start), show(k.stop))
			case k.stop < 0 && eom && k.start-k.repeat < from:
				return fmt.Errorf("%s ~%d/%d repeats past the start of the month", f.name, k.start, k.repeat)
			case k.stop < 0 && !eom && k.start+k.repeat > to:
				return fmt.Errorf("%s %s/%s never repeats within %s..%s", f.name, show(k.start), show(k.repeat), show(from), show(to))
			}
		}
	}
	return nil
}
