package calendar

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Suggestions for misspelt words. They change what a rejection says, never
// what is accepted: explain runs only on an expression the parser, exact to
// systemd 252, has already rejected.

// keywords are the shorthands worth suggesting; the parser also takes the
// hyphenated forms and the misspelling "anually".
var keywords = []string{"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually",
	"quarterly", "semiannually"}

// explain replaces a syntax error caused by an unknown word with one that
// names the word and, when one is near, the word the parser knows. body is
// the expression less the time zone suffix already taken off it.
func (p *parser) explain(err error, body string) error {
	e, ok := err.(*Error)
	if !ok || e.Errno != syscall.EINVAL {
		return err
	}
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return err
	}
	first := fields[0]
	if len(fields) == 1 && isWord(first) {
		if day := nearest(first, dayNameList()); day != "" {
			return p.unknown("weekday", first, day)
		}
		return p.unknown("calendar keyword", first, nearest(first, keywords))
	}
	if isLetter(first[0]) {
		for _, item := range strings.FieldsFunc(first, func(r rune) bool { return r == ',' || r == '.' || r == '-' }) {
			switch _, n := matchDay(item); {
			case n == len(item):
				continue
			case contains(keywords, item):
				return &Error{Spec: p.spec, Errno: syscall.EINVAL,
					Msg: "\"" + item + "\" stands for a whole expression and takes nothing else"}
			default:
				return p.unknown("weekday", item, nearest(item, dayNameList()))
			}
		}
	}
	if last := fields[len(fields)-1]; len(fields) > 1 && strings.ContainsFunc(last, func(r rune) bool { return r < 0x80 && isLetter(byte(r)) }) {
		// Most such words are a bad zone, but a bad date or time is too
		// ("2024-01-01 x"): name a zone only when one is near or the word
		// has a zone's Region/City form.
		if zone := nearestZone(last, p.c.host); zone != "" || strings.Contains(last, "/") {
			return p.unknown("time zone", last, zone)
		}
	}
	return err
}

func (p *parser) unknown(what, word, suggestion string) *Error {
	e := &Error{Spec: p.spec, Errno: syscall.EINVAL, Msg: "unknown " + what + " " + quote(word), whole: word == p.spec}
	if suggestion != "" {
		e.Hint = "did you mean " + quote(suggestion) + "?"
	}
	return e
}

func quote(s string) string { return "\"" + s + "\"" }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return s != ""
}

func contains(list []string, s string) bool {
	for _, w := range list {
		if asciiLower(w) == asciiLower(s) {
			return true
		}
	}
	return false
}

func dayNameList() []string {
	names := make([]string, len(dayNames))
	for i, d := range dayNames {
		names[i] = d.name
	}
	return names
}

// nearest is the candidate closest to word, ignoring ASCII case, if it is
// close enough to be what was meant: a third of the word's length, at
// least one edit.
func nearest(word string, candidates []string) string {
	best, bestD := "", max(1, len(word)/3)+1
	for _, c := range candidates {
		if d := distance(asciiLower(word), asciiLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// nearestZone also matches the last part of a Region/City name, so that
// "berlin" finds "Europe/Berlin".
func nearestZone(word string, host *Zone) string {
	// Clipped: the list is shared by every caller, and an append into its
	// spare capacity would race another's.
	names := append(slices.Clip(zoneNames()), "UTC")
	if host != nil {
		names = append(names, host.names[0], host.names[1])
	}
	if zone := nearest(word, names); zone != "" {
		return zone
	}
	cities := make([]string, len(names))
	for i, n := range names {
		cities[i] = n[strings.LastIndexByte(n, '/')+1:]
	}
	if city := nearest(word, cities); city != "" {
		for _, n := range names {
			if strings.HasSuffix(n, "/"+city) {
				return n
			}
		}
	}
	return ""
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each count one.
func distance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// zoneNames lists the zones under ZoneInfoDir once per process: hostile
// callers may send bad expressions as often as they like.
var zoneNames = sync.OnceValue(func() []string {
	var names []string
	filepath.WalkDir(ZoneInfoDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name, _ := filepath.Rel(ZoneInfoDir, path)
		switch {
		case d.IsDir() && (name == "posix" || name == "right"):
			return fs.SkipDir
		case d.IsDir() || name == "localtime" || name == "posixrules" || name == "Factory":
			return nil
		}
		if isTZif(path) {
			names = append(names, name)
		}
		return nil
	})
	return names
})
