package calendar

import "time"

// tm is C's struct tm, with the full year and a 0-based month, fields free
// to be out of range until normalized.
type tm struct {
	year, mon, mday, hour, min, sec int
	isdst                           int // -1: let mktime decide
	wday, yday                      int // set by normalization
}

// clock converts like glibc's mktime(3)/localtime(3) (or timegm(3) and
// gmtime(3) in UTC) for one zone. next-elapse results depend on glibc's
// exact choices at DST changes, so its algorithm is followed step by step:
// Go's time.Date resolves gaps and overlaps differently.
type clock struct {
	z *Zone
	// offset is glibc's per-process guess of the UTC offset, the result
	// of the previous conversion; it decides which of two equally valid
	// answers an ambiguous local time gets.
	offset int64
}

// localtime breaks t down in the clock's zone.
func (c *clock) localtime(t int64) tm {
	lt := time.Unix(t, 0).In(c.z.loc)
	r := tm{year: lt.Year(), mon: int(lt.Month()) - 1, mday: lt.Day(), wday: int(lt.Weekday()), yday: lt.YearDay() - 1}
	r.hour, r.min, r.sec = lt.Clock()
	if lt.IsDST() {
		r.isdst = 1
	}
	return r
}

// daysBeforeYear counts the days from 1970-01-01 to January 1 of year.
func daysBeforeYear(year int64) int64 {
	y := year - 1
	return 365*(year-1970) + (floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400)) - (492 - 19 + 4)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthYday = [2][13]int64{
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

// wall is a broken-down time as seconds since the epoch, read as if UTC;
// out-of-range fields count linearly, as in glibc's ydhms_diff().
func wall(year int64, yday, hour, min, sec int64) int64 {
	return ((daysBeforeYear(year)+yday)*24+hour)*3600 + min*60 + sec
}

// mktime normalizes *t and returns its time_t, following glibc 2.36's
// __mktime_internal(). ok is false where glibc returns -1 with an error.
func (c *clock) mktime(t *tm) (int64, bool) {
	// Month into range, carrying into the year.
	monRem := int64(t.mon % 12)
	negRem := int64(0)
	if monRem < 0 {
		negRem = 1
	}
	year := int64(t.year) + int64(t.mon/12) - negRem
	leap := 0
	if isLeap(year) {
		leap = 1
	}
	yday := monthYday[leap][monRem+12*negRem] + int64(t.mday) - 1
	hour, min := int64(t.hour), int64(t.min)
	secRequested := int64(t.sec)
	sec := min64(max64(secRequested, 0), 59) // the search assumes 60-second minutes
	want := wall(year, yday, hour, min, sec)

	if c.z.utc {
		tt := want + secRequested - sec
		*t = gmtimeTM(tt)
		return tt, true
	}

	// Invert localtime by probing, starting from the last offset seen.
	t0 := want - c.offset
	cur, t1, t2 := t0, t0, t0
	dst2 := 0
	probes := 6
	var lt tm
	for {
		lt = c.localtime(cur)
		dt := want - wall(int64(lt.year), int64(lt.yday), int64(lt.hour), int64(lt.min), int64(lt.sec))
		if dt == 0 {
			break
		}
		if cur == t1 && cur != t2 && c.oscillationEnds(t.isdst, dst2, lt.isdst) {
			// The time falls in a spring-forward gap: glibc answers with a
			// time the gap's size away, preferring daylight time.
			goto found
		}
		probes--
		if probes == 0 {
			return -1, false
		}
		t1, t2, cur = t2, cur, cur+dt
		dst2 = b2i(lt.isdst != 0)
	}
	if isdstDiffer(t.isdst, lt.isdst) {
		// A specific tm_isdst was asked for and this is not it: use the
		// offset of the nearest time that has it.
		const stride, bound = 601200, 536454000/2 + 601200
		for delta := int64(stride); delta < bound; delta += stride {
			for _, dir := range []int64{-1, 1} {
				ot := cur + delta*dir
				olt := c.localtime(ot)
				if !isdstDiffer(t.isdst, olt.isdst) {
					cur = ot + want - wall(int64(olt.year), int64(olt.yday), int64(olt.hour), int64(olt.min), int64(olt.sec))
					lt = c.localtime(cur)
					goto found
				}
			}
		}
		return -1, false
	}
found:
	c.offset = want - cur
	if secRequested != sec {
		adjust := b2i64(sec == 0 && lt.sec == 60) - sec + secRequested
		cur += adjust
		lt = c.localtime(cur)
	}
	*t = lt
	return cur, true
}

// oscillationEnds is glibc's test for giving up on a gap: stop on the
// candidate whose tm_isdst differs from the requested one or, with none
// requested, unless that would trade daylight time for standard time.
func (c *clock) oscillationEnds(wantDST, dst2, gotDST int) bool {
	if gotDST < 0 {
		return true
	}
	if wantDST < 0 {
		return dst2 <= b2i(gotDST != 0)
	}
	return (wantDST != 0) != (gotDST != 0)
}

func isdstDiffer(a, b int) bool { return (a == 0) != (b == 0) && a >= 0 && b >= 0 }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func b2i64(b bool) int64 { return int64(b2i(b)) }

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// gmtimeTM breaks t down in UTC.
func gmtimeTM(t int64) tm {
	days := floorDiv(t, 86400)
	rem := t - days*86400
	y, m, d := civil(days)
	r := tm{year: int(y), mon: m - 1, mday: d, hour: int(rem / 3600), min: int(rem % 3600 / 60), sec: int(rem % 60)}
	r.wday = int((days%7 + 11) % 7) // 1970-01-01 was a Thursday
	leap := 0
	if isLeap(y) {
		leap = 1
	}
	r.yday = int(monthYday[leap][m-1]) + d - 1
	return r
}

// gmtime is gmtime_r(3) for "@SECONDS": ok is false where the year does
// not fit C's int.
func gmtime(t int64) (year, mon, day, hour, min, sec int, ok bool) {
	days := floorDiv(t, 86400)
	y, _, _ := civil(days)
	if y-1900 > 1<<31-1 || y-1900 < -1<<31 || y > 1<<31-1 {
		return 0, 0, 0, 0, 0, 0, false
	}
	r := gmtimeTM(t)
	return r.year, r.mon + 1, r.mday, r.hour, r.min, r.sec, true
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date.
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}
