package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

var errTimestamp = errors.New("not a timestamp")

// parseTimestamp reads the timestamps systemd.time(7) describes that an
// admin gives --base-time: "@SECONDS", "now", "today", "yesterday",
// "tomorrow", "[WEEKDAY] YYYY-MM-DD [HH:MM[:SS[.FRAC]]] [ZONE]",
// "HH:MM[:SS]" (today) and "+TIMESPAN" / "-TIMESPAN" (from now).
func parseTimestamp(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	now = now.In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	switch s {
	case "now":
		return now, nil
	case "today":
		return midnight, nil
	case "yesterday":
		return midnight.AddDate(0, 0, -1), nil
	case "tomorrow":
		return midnight.AddDate(0, 0, 1), nil
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		secs, err := strconv.ParseFloat(rest, 64)
		if err != nil || secs < 0 {
			return time.Time{}, errTimestamp
		}
		return time.UnixMicro(int64(secs*1e6 + 0.5)).In(loc), nil
	}
	if s != "" && (s[0] == '+' || s[0] == '-') {
		d, err := parseTimespan(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	fields := strings.Fields(s)
	// A trailing zone: UTC or a zone name.
	if n := len(fields); n > 1 {
		if z, err := zoneNamed(fields[n-1]); err == nil {
			loc, fields = z, fields[:n-1]
		}
	}
	// A leading weekday is allowed and not checked further.
	if len(fields) > 1 && isWeekday(fields[0]) {
		fields = fields[1:]
	}
	layouts := []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04", "2006-01-02", "15:04:05.999999", "15:04"}
	joined := strings.Join(fields, " ")
	for _, l := range layouts {
		t, err := time.ParseInLocation(l, joined, loc)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(l, "2006") {
			t = time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		}
		return t, nil
	}
	return time.Time{}, errTimestamp
}

func zoneNamed(name string) (*time.Location, error) {
	if name == "UTC" || name == "Z" {
		return time.UTC, nil
	}
	if !strings.Contains(name, "/") {
		return nil, errTimestamp
	}
	return time.LoadLocation(name)
}

func isWeekday(s string) bool {
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if strings.HasPrefix(strings.ToLower(s), d) {
			return true
		}
	}
	return false
}

// parseTimespan reads "1h 30min", "90s", "2d": systemd's time spans.
func parseTimespan(s string) (time.Duration, error) {
	units := map[string]time.Duration{
		"us": time.Microsecond, "usec": time.Microsecond, "ms": time.Millisecond, "msec": time.Millisecond,
		"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	}
	s = strings.ReplaceAll(s, " ", "")
	if s == "" {
		return 0, errTimestamp
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		n, err := strconv.Atoi(s[:i])
		unit, ok := units[s[i:j]]
		if s[i:j] == "" {
			unit, ok = time.Second, true
		}
		if err != nil || !ok {
			return 0, errTimestamp
		}
		total += time.Duration(n) * unit
		s = s[j:]
	}
	return total, nil
}
