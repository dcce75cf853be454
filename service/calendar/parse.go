// The parser: an expression read field by field the way systemd 252 reads
// it, and refused, with the errno 252 gives, wherever 252 refuses it.

package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

type parser struct {
	spec string // the whole input, for messages
	s    string // what is left to parse
	c    *Spec
}

func (p *parser) fail(errno syscall.Errno, format string, args ...any) error {
	return &Error{Spec: p.spec, Msg: fmt.Sprintf(format, args...), Errno: errno}
}

// at describes the current position for messages.
func (p *parser) at() string {
	off := len(p.spec) - len(p.s)
	if p.s == "" {
		return "at the end"
	}
	return fmt.Sprintf("at offset %d (%q)", off, p.s[:1])
}

// expression parses what is not a shorthand: weekdays, date, time.
func (p *parser) expression() error {
	if err := p.weekdays(); err != nil {
		return err
	}
	timeFollows, err := p.date()
	if err != nil {
		return err
	}
	if timeFollows {
		if err := p.clock(); err != nil {
			return err
		}
	}
	if p.s != "" {
		return p.fail(syscall.EINVAL, "unexpected text %q", p.s)
	}
	return nil
}

// suffix strips a trailing time zone: " UTC", one of the host zone's
// abbreviations, or a zone name, in that order of precedence.
func (p *parser) suffix() error {
	if hasSuffixFold(p.s, " UTC") {
		p.c.utc = true
		p.s = p.s[:len(p.s)-4]
		return nil
	}
	for dst, name := range p.c.host.names {
		if name == "" || len(p.s) <= len(name) || !hasSuffixFold(p.s, name) || p.s[len(p.s)-len(name)-1] != ' ' {
			continue
		}
		p.s = p.s[:len(p.s)-len(name)-1]
		p.c.dst = dst
		return nil
	}
	if i := strings.LastIndexByte(p.s, ' '); i >= 0 && validZoneName(p.s[i+1:]) {
		p.c.timezone = p.s[i+1:]
		p.s = p.s[:i]
	}
	return nil
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && asciiLower(s[len(s)-len(suffix):]) == asciiLower(suffix)
}

// asciiLower folds only ASCII letters, as strcasecmp(3) does in the C
// locale: "K" (Kelvin) is not "k" to systemd.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// shorthand handles the words that stand for a whole expression.
func (p *parser) shorthand() bool {
	c := p.c
	// Fresh slices each: normalization works on chains in place.
	zero := func() []component { return []component{{0, -1, 0}} }
	one := func() []component { return []component{{1, -1, 0}} }
	midnight := func() { c.hour, c.minute, c.usec = zero(), zero(), zero() }
	switch asciiLower(p.s) {
	case "minutely":
		c.usec = zero()
	case "hourly":
		c.minute, c.usec = zero(), zero()
	case "daily":
		midnight()
	case "weekly":
		c.weekdays = 1
		midnight()
	case "monthly":
		c.day = one()
		midnight()
	case "annually", "yearly", "anually":
		c.month, c.day = one(), one()
		midnight()
	case "quarterly":
		c.month = []component{{1, -1, 0}, {4, -1, 0}, {7, -1, 0}, {10, -1, 0}}
		c.day = one()
		midnight()
	case "biannually", "bi-annually", "semiannually", "semi-annually":
		c.month = []component{{1, -1, 0}, {7, -1, 0}}
		c.day = one()
		midnight()
	default:
		return false
	}
	p.s = ""
	return true
}

var dayNames = []struct {
	name string
	nr   int
}{
	{"Monday", 0}, {"Mon", 0}, {"Tuesday", 1}, {"Tue", 1}, {"Wednesday", 2}, {"Wed", 2},
	{"Thursday", 3}, {"Thu", 3}, {"Friday", 4}, {"Fri", 4}, {"Saturday", 5}, {"Sat", 5},
	{"Sunday", 6}, {"Sun", 6},
}

// weekdays parses an optional weekday list: names, ".." (or legacy "-")
// ranges, commas, a trailing comma allowed, ended by spaces.
func (p *parser) weekdays() error {
	last := -1 // start of an open range
	for first := true; ; first = false {
		nr, n := matchDay(p.s)
		if n == 0 {
			if first {
				return nil // no weekdays: the date follows
			}
			return p.fail(syscall.EINVAL, "expected a weekday name %s", p.at())
		}
		if next := byteAt(p.s, n); next != 0 && next != '-' && next != '.' && next != ',' && next != ' ' {
			return p.fail(syscall.EINVAL, "unexpected %q after weekday %q", next, p.s[:n])
		}
		p.c.weekdays |= 1 << nr
		if last >= 0 {
			if last > nr {
				return p.fail(syscall.EINVAL, "weekday range ends before it starts (%s)", p.s[:n])
			}
			for d := last + 1; d < nr; d++ {
				p.c.weekdays |= 1 << d
			}
		}
		p.s = p.s[n:]
		switch byteAt(p.s, 0) {
		case 0:
			return nil
		case ' ':
			p.s = strings.TrimLeft(p.s, " ")
			return nil
		case '.':
			if last >= 0 || byteAt(p.s, 1) != '.' {
				return p.fail(syscall.EINVAL, "bad weekday range %s", p.at())
			}
			last = nr
			p.s = p.s[2:]
		case '-':
			if last >= 0 {
				return p.fail(syscall.EINVAL, "bad weekday range %s", p.at())
			}
			last = nr
			p.s = p.s[1:]
		case ',':
			last = -1
			p.s = p.s[1:]
		}
		if c := byteAt(p.s, 0); c == 0 || c == ' ' {
			p.s = strings.TrimLeft(p.s, " ")
			if last >= 0 {
				return p.fail(syscall.EINVAL, "weekday range has no end")
			}
			return nil
		}
	}
}

func matchDay(s string) (nr, n int) {
	for _, d := range dayNames {
		if len(s) >= len(d.name) && asciiLower(s[:len(d.name)]) == asciiLower(d.name) {
			return d.nr, len(d.name)
		}
	}
	return 0, 0
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// date parses an optional date: "@SECONDS", "M-D", "Y-M-D", with "~" for
// days counted from the end of the month. It reports whether a time of day
// may follow.
func (p *parser) date() (timeFollows bool, err error) {
	if p.s == "" {
		return true, nil
	}
	if p.s[0] == '@' {
		return false, p.timestamp()
	}
	t := p.s
	first, t, err := p.chain(t, false, "year or month")
	if err != nil {
		return false, err
	}
	if c := byteAt(t, 0); c == 0 || c == ':' {
		return true, nil // a time, not a date: parse it again as one
	}
	if err := p.dateSep(t); err != nil {
		return false, err
	}
	second, t, err := p.chain(t[1:], false, "month or day")
	if err != nil {
		return false, err
	}
	if c := byteAt(t, 0); c == 0 || c == ' ' {
		p.s = strings.TrimLeft(t, " ")
		p.c.month, p.c.day = first, second
		return true, nil
	}
	if p.c.endOfMonth {
		return false, p.fail(syscall.EINVAL, "'~' may only stand before the day")
	}
	if err := p.dateSep(t); err != nil {
		return false, err
	}
	third, t, err := p.chain(t[1:], false, "day")
	if err != nil {
		return false, err
	}
	if c := byteAt(t, 0); c != 0 && c != ' ' {
		return false, p.failAt(t, "expected a space after the date")
	}
	p.s = strings.TrimLeft(t, " ")
	p.c.year, p.c.month, p.c.day = first, second, third
	return true, nil
}

func (p *parser) dateSep(t string) error {
	switch byteAt(t, 0) {
	case '~':
		p.c.endOfMonth = true
		return nil
	case '-':
		return nil
	}
	return p.failAt(t, "expected '-' or '~' in the date")
}

func (p *parser) failAt(rest, msg string) error {
	saved := p.s
	p.s = rest
	defer func() { p.s = saved }()
	return p.fail(syscall.EINVAL, "%s %s", msg, p.at())
}

// timestamp parses "@SECONDS", which fixes every field (in UTC) and takes
// no time of day.
func (p *parser) timestamp() error {
	v, rest, errno := parseUlong(p.s[1:])
	if errno != 0 {
		return p.fail(errno, "bad timestamp after '@'")
	}
	t := int64(v)
	year, mon, day, hour, min, sec, ok := gmtime(t)
	if !ok {
		return p.fail(syscall.ERANGE, "timestamp @%d out of range", t)
	}
	c := p.c
	c.utc = true
	konst := func(v int) []component { return []component{{v, -1, 0}} }
	c.year, c.month, c.day = konst(year), konst(mon), konst(day)
	c.hour, c.minute, c.usec = konst(hour), konst(min), konst(sec*usecPerSec)
	p.s = rest
	return nil
}

// parseUlong is strtoul(3) in base 10: leading white space and a sign
// allowed, a negative value wraps around, overflow is ERANGE.
func parseUlong(s string) (uint64, string, syscall.Errno) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, s, syscall.EINVAL
	}
	v, err := strconv.ParseUint(s[i:j], 10, 64)
	if err != nil {
		return 0, s, syscall.ERANGE
	}
	if neg {
		v = -v
	}
	return v, s[j:], 0
}

// clock parses the time of day: H:M or H:M:S, with fractional seconds;
// nothing at all means 00:00:00.
func (p *parser) clock() error {
	zero := []component{{0, -1, 0}}
	if p.s == "" {
		p.c.hour, p.c.minute, p.c.usec = zero, zero, zero
		return nil
	}
	h, t, err := p.chain(p.s, false, "hour")
	if err != nil {
		return err
	}
	if byteAt(t, 0) != ':' {
		return p.failAt(t, "expected ':' after the hour")
	}
	m, t, err := p.chain(t[1:], false, "minute")
	if err != nil {
		return err
	}
	s := zero
	if t != "" {
		if t[0] != ':' {
			return p.failAt(t, "expected ':' after the minute")
		}
		s, t, err = p.chain(t[1:], true, "second")
		if err != nil {
			return err
		}
		if t != "" {
			return p.failAt(t, "unexpected text after the seconds")
		}
	}
	p.s = ""
	p.c.hour, p.c.minute, p.c.usec = h, m, s
	return nil
}

// chain parses '*' or a comma list of components for one field.
func (p *parser) chain(t string, usec bool, field string) ([]component, string, error) {
	if byteAt(t, 0) == '*' {
		if usec {
			return []component{{0, -1, usecPerSec}}, t[1:], nil
		}
		return nil, t[1:], nil
	}
	var out []component
	for {
		if len(out) > maxChainLen {
			return nil, t, p.fail(syscall.ENOBUFS, "more than %d values for the %s", maxChainLen, field)
		}
		comp, rest, err := p.component(t, usec, field)
		if err != nil {
			return nil, t, err
		}
		out = append(out, comp)
		t = rest
		if byteAt(t, 0) != ',' {
			return out, t, nil
		}
		t = t[1:]
	}
}

func (p *parser) component(t string, usec bool, field string) (component, string, error) {
	c := component{stop: -1}
	var err error
	if c.start, t, err = p.decimal(t, usec, field); err != nil {
		return c, t, err
	}
	if strings.HasPrefix(t, "..") {
		if c.stop, t, err = p.decimal(t[2:], usec, field); err != nil {
			return c, t, err
		}
		c.repeat = 1
		if usec {
			c.repeat = usecPerSec
		}
	}
	if byteAt(t, 0) == '/' {
		if c.repeat, t, err = p.decimal(t[1:], usec, field); err != nil {
			return c, t, err
		}
		if c.repeat == 0 {
			return c, t, p.fail(syscall.ERANGE, "the %s repeats every 0", field)
		}
	} else {
		if c.start > intMax-c.repeat {
			return c, t, p.fail(syscall.ERANGE, "%s value too large", field)
		}
		// Without an explicit repeat, a range of seconds steps by one
		// second, so it must span at least that.
		if usec && c.stop >= 0 && c.start+c.repeat > c.stop {
			return c, t, p.fail(syscall.EINVAL, "the %s range %s..%s is shorter than its one-second step",
				field, formatUsec(c.start), formatUsec(c.stop))
		}
	}
	if strings.IndexByte("\x00 ,-~:", byteAt(t, 0)) < 0 {
		return c, t, p.failAt(t, "unexpected character in the "+field)
	}
	return c, t, nil
}

// decimal parses a non-negative number; for seconds, with up to six
// fractional digits (a seventh rounds), in microseconds.
func (p *parser) decimal(t string, usec bool, field string) (int, string, error) {
	if c := byteAt(t, 0); c < '0' || c > '9' {
		return 0, t, p.failAt(t, "expected a number for the "+field)
	}
	j := 0
	for j < len(t) && t[j] >= '0' && t[j] <= '9' {
		j++
	}
	v, err := strconv.ParseUint(t[:j], 10, 64)
	if err != nil {
		return 0, t, p.fail(syscall.ERANGE, "%s value %s too large", field, t[:j])
	}
	t = t[j:]
	if usec {
		if v > (1<<64-1)/usecPerSec {
			return 0, t, p.fail(syscall.ERANGE, "%s value too large", field)
		}
		v *= usecPerSec
		// One '.' is a decimal point, but ".." is a range.
		if byteAt(t, 0) == '.' && byteAt(t, 1) != '.' {
			frac, rest, ok := fraction(t[1:])
			if !ok {
				return 0, t, p.failAt(t[1:], "expected digits after the decimal point")
			}
			v += uint64(frac)
			t = rest
		}
	}
	if v > intMax {
		return 0, t, p.fail(syscall.ERANGE, "%s value too large", field)
	}
	return int(v), t, nil
}

// fraction reads decimal digits as microseconds: six count, the seventh
// rounds, the rest are ignored.
func fraction(s string) (int, string, bool) {
	val, n := 0, 0 // n: digits read
	for n < 6 && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		val = val*10 + int(s[n]-'0')
		n++
	}
	if n == 0 {
		return 0, s, false
	}
	for i := n; i < 6; i++ {
		val *= 10
	}
	rest := s[n:]
	if c := byteAt(rest, 0); c >= '5' && c <= '9' {
		val++
	}
	return val, strings.TrimLeft(rest, "0123456789"), true
}
