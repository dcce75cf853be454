// Package timers is the timer domain: what a snapm schedule is, its state as
// systemd and the disk report it, and the operations that move it between
// states, serialized per timer.
package timers

import (
	"cmp"
	"fmt"
	"strings"
)

// Type is the kind of snapm schedule, which picks the systemd template unit.
type Type string

const (
	TypeCreate Type = "create"
	TypeGC     Type = "gc"
)

// Types lists every timer type in a stable order.
var Types = []Type{TypeCreate, TypeGC}

// MaxNameLen is snapm's own limit: the longest name made of a timer's,
// its create timer's drop-in directory "snapm-create@NAME.timer.d", is
// then at most 255 characters, systemd's unit-name and NAME_MAX limits.
const MaxNameLen = 255 - len("snapm-create@.timer.d")

// ParseType validates a type string from a caller.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: unknown timer type %q (expected \"create\" or \"gc\")", ErrInvalidArgument, s)
}

// ValidateName accepts exactly the names that are safe as a systemd
// template instance inside one path component under /etc/systemd/system
// (no separator, nothing systemd would escape) and that take in every
// name snapm gives a schedule: a name is never a path component of its
// own, so a leading "." or "-" is as safe as snapm finds it; only "." is
// refused, as snapm refuses it.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: timer name is empty", ErrInvalidArgument)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: timer name is %d characters long (at most %d)", ErrInvalidArgument, len(name), MaxNameLen)
	}
	if name == "." {
		return fmt.Errorf("%w: timer name cannot be \".\"", ErrInvalidArgument)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fmt.Errorf("%w: timer name %q has a character outside [A-Za-z0-9:_.-] at offset %d", ErrInvalidArgument, Printable(name), i)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == ':' || c == '_' || c == '.' || c == '-'
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Printable keeps hostile names from corrupting error messages and logs.
func Printable(s string) string {
	const max = 64
	q := fmt.Sprintf("%+q", s)
	q = q[1 : len(q)-1]
	if len(q) > max {
		q = q[:max] + "..."
	}
	return q
}

// Key identifies a timer.
type Key struct {
	Type Type
	Name string
}

// UnitPrefix starts the name of every timer unit instance of type t.
func (t Type) UnitPrefix() string { return "snapm-" + string(t) + "@" }

// unitPrefixes are the UnitPrefix of every type.
func unitPrefixes() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = t.UnitPrefix()
	}
	return out
}

// Unit is the systemd timer unit instance for the key.
func (k Key) Unit() string { return k.Type.UnitPrefix() + k.Name + ".timer" }

func (k Key) String() string { return k.Unit() }

// compareUnits orders keys as strings.Compare orders their units, without
// building them: sorting 10,000 timers by Unit() made two strings for
// each of their 260,000 comparisons.
func compareUnits(a, b Key) int {
	pa := [...]string{string(a.Type), "@", a.Name, ".timer"}
	pb := [...]string{string(b.Type), "@", b.Name, ".timer"}
	i, j, ai, bj := 0, 0, 0, 0
	for {
		// Past the parts used up (an empty one, or the end of one).
		for i < len(pa) && ai == len(pa[i]) {
			i, ai = i+1, 0
		}
		for j < len(pb) && bj == len(pb[j]) {
			j, bj = j+1, 0
		}
		switch {
		case i == len(pa) && j == len(pb):
			return 0
		case i == len(pa):
			return -1
		case j == len(pb):
			return 1
		}
		if c, d := pa[i][ai], pb[j][bj]; c != d {
			return cmp.Compare(c, d)
		}
		ai, bj = ai+1, bj+1
	}
}

// ParseUnit recognizes a snapm timer unit name and returns its key; ok is
// false for any other unit, including ones with names we would refuse.
func ParseUnit(unit string) (Key, bool) {
	rest, ok := strings.CutPrefix(unit, "snapm-")
	if !ok {
		return Key{}, false
	}
	typ, rest, ok := strings.Cut(rest, "@")
	if !ok {
		return Key{}, false
	}
	name, ok := strings.CutSuffix(rest, ".timer")
	if !ok {
		return Key{}, false
	}
	t, err := ParseType(typ)
	if err != nil || ValidateName(name) != nil {
		return Key{}, false
	}
	return Key{Type: t, Name: name}, true
}
