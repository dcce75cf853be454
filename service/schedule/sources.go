package schedule

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// checkSources gives snapm 0.7's verdict on a schedule's source specs
// (_parse_source_specs, which Scheduler.create and edit call and whose
// result they then drop: the file keeps the specs as given). A spec is a
// path with an optional ":SIZE_POLICY" suffix, split at its last ':' and
// only when what follows is a size policy; otherwise the ':' belongs to the
// path. The paths, normalized as Python's posixpath.normpath does, must
// differ. Whether a source exists is not checked, as snapm does not. snapm
// takes an empty list from its library; its CLI needs one source at least,
// and so does this.
func checkSources(specs []string) error {
	if len(specs) == 0 {
		return fmt.Errorf("%w: a schedule needs at least one source", ErrInvalid)
	}
	seen := make(map[string]bool, len(specs))
	for _, spec := range specs {
		source := spec
		if i := strings.LastIndexByte(spec, ':'); i >= 0 {
			ok, err := isSizePolicy(spec[i+1:])
			if err != nil {
				return fmt.Errorf("%w: source %q: %w", ErrInvalid, spec, err)
			}
			if ok {
				source = spec[:i]
			}
		}
		source = normpath(source)
		if seen[source] {
			return fmt.Errorf("%w: Duplicate snapshot source %s already present", ErrInvalid, source)
		}
		seen[source] = true
	}
	return nil
}

// normpath is Python's posixpath.normpath, which differs from path.Clean
// in keeping exactly two leading slashes (POSIX leaves "//" to the
// implementation).
func normpath(p string) string {
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		return "/" + path.Clean(p[1:])
	}
	return path.Clean(p)
}

// sizeRE is snapm's _SIZE_RE; Python's '$' also matches before a final
// newline.
var sizeRE = regexp.MustCompile(`^[0-9]+([KMGTPEZkmgtpez]i?)?[Bb]?\n?$`)

// isSizePolicy gives snapm 0.7's verdict (is_size_policy, SizePolicy) on a
// size policy for a mounted source: a size in bytes with an optional unit
// ("2G", "2g", "2GiB", "512b"), or PERCENT%TYPE with TYPE one of FREE, USED,
// SIZE or FIXED (snapm's loop over its SizePolicyType values takes FIXED
// too), case-sensitive, at most 100 for FREE and SIZE. PERCENT is read as
// Python's float() does, before TYPE is looked at, and a PERCENT that is no
// float is an error, not "no size policy": so "x%SIZE" or "x%BOGUS" is
// refused where "5%BOGUS" or "101%FREE" is a part of the path. NaN passes
// the cap, as in snapm.
func isSizePolicy(p string) (bool, error) {
	if !strings.Contains(p, "%") {
		return sizeRE.MatchString(p), nil
	}
	i := strings.LastIndexByte(p, '%')
	percent, err := pyFloat(p[:i])
	if err != nil {
		return false, err
	}
	switch p[i+1:] {
	case "FIXED", "USED":
		return true, nil
	case "FREE", "SIZE":
		return !(percent > 100), nil
	}
	return false, nil
}

// pyFloatRE is the grammar of Python's float() after its stripping of
// whitespace and mapping of Unicode digits: underscores only between
// digits.
var pyFloatRE = regexp.MustCompile(`(?i)^[+-]?(` +
	`(\d(_?\d)*)?\.?\d(_?\d)*` + `|\d(_?\d)*\.` + // digits, a point somewhere
	`)(e[+-]?\d(_?\d)*)?$` +
	`|^[+-]?(inf|infinity|nan)$`)

// pyFloat reads s as Python's float(str) does, or fails with its message.
func pyFloat(s string) (float64, error) {
	t := strings.TrimFunc(s, pyIsSpace)
	t = strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '0' + rune(digitValue(r))
		}
		return r
	}, t)
	if !pyFloatRE.MatchString(t) {
		return 0, fmt.Errorf("could not convert string to float: %s", strconv.Quote(s))
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil && !math.IsInf(f, 0) { // Python overflows to inf silently
		return 0, fmt.Errorf("could not convert string to float: %s", strconv.Quote(s))
	}
	return f, nil
}

// pyIsSpace is Python's str.isspace for one character, which float()
// strips: Unicode's white space and the separators ASCII 0x1c-0x1f.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}

// digitValue is the value of a Unicode decimal digit (category Nd). Such
// digits come in runs of whole blocks, each from its 0 to its 9, so the
// value is the distance from the run's start, modulo 10.
func digitValue(r rune) int {
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10
}
