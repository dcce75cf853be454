package calendar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The bounds systemd 252 enforces.
const (
	minYear     = 1970
	maxYear     = 2199
	usecPerSec  = 1000000
	maxChainLen = 240 // components in one comma list
	allDays     = 127 // weekday bits for Mon..Sun
	intMax      = 1<<31 - 1
)

// component is one element of a comma list: start, or start..stop, with an
// optional /repeat. stop is -1 when absent.
type component struct {
	start, stop, repeat int
}

// Spec is a parsed, normalized calendar event expression.
type Spec struct {
	// weekdays has bit 0 for Monday .. bit 6 for Sunday; -1 means any day.
	weekdays int
	// A nil chain means '*'. usec holds seconds in microseconds.
	year, month, day, hour, minute, usec []component
	endOfMonth                           bool
	utc                                  bool
	// dst is 0 or 1 when the expression named one of the host zone's
	// abbreviations (standard or daylight time), -1 otherwise.
	dst int
	// timezone is a zone name under /usr/share/zoneinfo, or "".
	timezone string
	zone     *Zone // where Next computes: host, UTC or timezone
	host     *Zone
}

// Error is a rejected expression: what is wrong, where, and the errno
// systemd 252 gives it (EINVAL, ERANGE or ENOBUFS).
type Error struct {
	Spec  string
	Msg   string
	Errno syscall.Errno
	// Hint suggests what may have been meant, or is "".
	Hint string
	// whole: Msg names the whole expression already.
	whole bool
}

func (e *Error) Error() string {
	msg := e.Msg
	if !e.whole {
		msg = fmt.Sprintf("%s in %q", msg, e.Spec)
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Is makes every Error an ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

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

// Parse parses expr the way systemd 252 does, with host as the zone of
// expressions that name none.
func Parse(expr string, host *Zone) (*Spec, error) {
	c := &Spec{dst: -1, host: host}
	p := &parser{spec: expr, s: expr, c: c}
	if err := p.suffix(); err != nil {
		return nil, err
	}
	if p.s == "" {
		return nil, p.fail(syscall.EINVAL, "no calendar expression")
	}
	if body := p.s; !p.shorthand() {
		if err := p.expression(); err != nil {
			return nil, p.explain(err, body)
		}
	}
	c.normalize()
	if err := c.validate(); err != nil {
		return nil, &Error{Spec: expr, Msg: err.Error(), Errno: syscall.EINVAL}
	}
	switch {
	case c.utc:
		c.zone = UTC
	case c.timezone != "":
		z, err := LoadZone(c.timezone)
		if err != nil {
			return nil, p.fail(syscall.EINVAL, "time zone %s: %v", c.timezone, err)
		}
		c.zone = z
	default:
		c.zone = host
	}
	return c, nil
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
