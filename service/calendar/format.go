// The normalized form as text, as systemd-analyze calendar prints it.

package calendar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func formatUsec(v int) string {
	if v%usecPerSec == 0 {
		return strconv.Itoa(v / usecPerSec)
	}
	return fmt.Sprintf("%d.%06d", v/usecPerSec, v%usecPerSec)
}

var dayAbbrev = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// String is the normalized form, as systemd-analyze prints it.
func (c *Spec) String() string {
	var b strings.Builder
	if c.weekdays > 0 && c.weekdays <= allDays {
		writeWeekdays(&b, c.weekdays)
		b.WriteByte(' ')
	}
	writeChain(&b, 4, c.year, false)
	b.WriteByte('-')
	writeChain(&b, 2, c.month, false)
	if c.endOfMonth {
		b.WriteByte('~')
	} else {
		b.WriteByte('-')
	}
	writeChain(&b, 2, c.day, false)
	b.WriteByte(' ')
	writeChain(&b, 2, c.hour, false)
	b.WriteByte(':')
	writeChain(&b, 2, c.minute, false)
	b.WriteByte(':')
	writeChain(&b, 2, c.usec, true)
	switch {
	case c.utc:
		b.WriteString(" UTC")
	case c.timezone != "":
		b.WriteString(" " + c.timezone)
	case c.dst == 0 || c.dst == 1:
		if name := c.host.names[c.dst]; name != "" {
			b.WriteString(" " + name)
		}
	}
	return b.String()
}

// writeWeekdays writes runs of three or more days as ranges.
func writeWeekdays(b *strings.Builder, bits int) {
	first := true
	for d := 0; d < 7; {
		if bits&(1<<d) == 0 {
			d++
			continue
		}
		end := d
		for end+1 < 7 && bits&(1<<(end+1)) != 0 {
			end++
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(dayAbbrev[d])
		switch {
		case end >= d+2:
			b.WriteString(".." + dayAbbrev[end])
		case end == d+1:
			b.WriteString("," + dayAbbrev[end])
		}
		d = end + 1
	}
}

func writeChain(b *strings.Builder, width int, ch []component, usec bool) {
	d := 1
	if usec {
		d = usecPerSec
	}
	if ch == nil || (usec && slices.ContainsFunc(ch, func(k component) bool {
		return k.start == 0 && k.stop < 0 && k.repeat == usecPerSec
	})) {
		b.WriteByte('*')
		return
	}
	for i, k := range ch {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%0*d", width, k.start/d)
		if k.start%d > 0 {
			fmt.Fprintf(b, ".%06d", k.start%d)
		}
		if k.stop > 0 {
			fmt.Fprintf(b, "..%0*d", width, k.stop/d)
		}
		if k.stop%d > 0 {
			fmt.Fprintf(b, ".%06d", k.stop%d)
		}
		if k.repeat > 0 && !(k.stop > 0 && k.repeat == d) {
			fmt.Fprintf(b, "/%d", k.repeat/d)
		}
		if k.repeat%d > 0 {
			fmt.Fprintf(b, ".%06d", k.repeat%d)
		}
	}
}
