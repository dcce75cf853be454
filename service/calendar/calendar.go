// Package calendar validates systemd calendar event expressions
// (systemd.time(7)) and computes their normalized form and next elapse.
package calendar

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxLen bounds what a caller may hand us; real expressions are short and a
// bound keeps hostile input away from every later step.
const MaxLen = 1024

// ErrInvalid is wrapped by every rejection of an expression.
var ErrInvalid = errors.New("invalid calendar expression")

// Info is what an expression means.
type Info struct {
	Normalized string
	// Next is the next elapse in CLOCK_REALTIME microseconds, 0 for never.
	Next uint64
}

// CheckText rejects what must never reach a parser, a unit file or a log
// line unquoted: control characters, invalid UTF-8, empty or huge input.
func CheckText(spec string) error {
	switch {
	case spec == "":
		return fmt.Errorf("%w: the expression is empty", ErrInvalid)
	case len(spec) > MaxLen:
		return fmt.Errorf("%w: the expression is %d bytes long (at most %d)", ErrInvalid, len(spec), MaxLen)
	case !utf8.ValidString(spec):
		return fmt.Errorf("%w: the expression is not valid UTF-8", ErrInvalid)
	}
	for i, r := range spec {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character %q at offset %d", ErrInvalid, r, i)
		}
	}
	return nil
}
