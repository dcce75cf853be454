package calendar

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unicode"
	"unicode/utf8"
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

// explainSpace replaces the error of an expression with a space where
// systemd takes none (before or after it, or any but U+0020 inside) with
// one that names that space: the usual cause is a paste, and the space
// itself cannot be seen in a message. The hint is the expression without
// it, when that parses.
func explainSpace(err error, expr string, host *Zone) error {
	e, ok := err.(*Error)
	if !ok || e.Errno != syscall.EINVAL {
		return err
	}
	var msg string
	first, _ := utf8.DecodeRuneInString(expr)
	last, size := utf8.DecodeLastRuneInString(expr)
	switch i := strings.IndexFunc(expr, isOddSpace); {
	case isSpace(first):
		msg = "leading " + spaceName(first)
	case isSpace(last) && size > 0:
		msg = "trailing " + spaceName(last)
	case i >= 0:
		r, _ := utf8.DecodeRuneInString(expr[i:])
		msg = fmt.Sprintf("%s at offset %d", spaceName(r), i)
	default:
		return err
	}
	e = &Error{Spec: expr, Errno: syscall.EINVAL, Msg: msg}
	clean := strings.Map(func(r rune) rune {
		if isOddSpace(r) {
			return ' '
		}
		return r
	}, strings.TrimFunc(expr, isSpace))
	switch _, err := parse(clean, host); {
	case err == nil && clean != "":
		e.Hint = "did you mean " + quote(clean) + "?"
	case strings.ContainsFunc(expr, isOddSpace):
		e.Hint = "only a plain space (U+0020) separates the parts"
	}
	return e
}

// isSpace: a space of any kind, or a character that shows as none.
func isSpace(r rune) bool { return unicode.IsSpace(r) || spaceNames[r] != "" }

// isOddSpace: a space systemd takes nowhere.
func isOddSpace(r rune) bool { return r != ' ' && isSpace(r) }

var spaceNames = map[rune]string{
	' ':    "space",
	'\t':   "tab",
	0x85:   "next-line character",
	0xa0:   "no-break space",
	0x1680: "Ogham space mark",
	0x2000: "en quad",
	0x2001: "em quad",
	0x2002: "en space",
	0x2003: "em space",
	0x2004: "three-per-em space",
	0x2005: "four-per-em space",
	0x2006: "six-per-em space",
	0x2007: "figure space",
	0x2008: "punctuation space",
	0x2009: "thin space",
	0x200a: "hair space",
	0x200b: "zero-width space",
	0x2028: "line separator",
	0x2029: "paragraph separator",
	0x202f: "narrow no-break space",
	0x205f: "medium mathematical space",
	0x3000: "ideographic space",
	0xfeff: "zero-width no-break space",
}

// spaceName names r and, but for a plain space, its code point.
func spaceName(r rune) string {
	name := spaceNames[r]
	switch {
	case r == ' ':
		return name
	case name == "":
		name = "space"
	}
	return fmt.Sprintf("%s (U+%04X)", name, r)
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

// maxHintLen bounds the words a hint is looked for: longer than any zone
// name, and short enough that a rejection costs no more than a parse.
const maxHintLen = 48

// nearest is the candidate closest to word, ignoring ASCII case, if it is
// close enough to be what was meant: a third of the word's length, at
// least one edit. A word past maxHintLen gets none: no one misspells at
// that length, and callers may send such words as often as they like.
func nearest(word string, candidates []string) string {
	if len(word) > maxHintLen {
		return ""
	}
	word = asciiLower(word)
	best, bestD := "", max(1, len(word)/3)+1
	for _, c := range candidates {
		// The distance is at least the difference in length: most
		// candidates are ruled out without computing it.
		if abs(len(c)-len(word)) >= bestD {
			continue
		}
		if d := distance(word, asciiLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

// nearestZone also matches the last part of a Region/City name, so that
// "berlin" finds "Europe/Berlin".
func nearestZone(word string, host *Zone) string {
	if len(word) > maxHintLen {
		return ""
	}
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
