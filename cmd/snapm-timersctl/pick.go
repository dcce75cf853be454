package main

import (
	"fmt"
	"io"
	"slices"
)

// failures keeps the first failure of a verb that goes on after one, as
// systemctl does, and prints the others; a service gone ends the verb.
type failures struct {
	w     io.Writer
	first error
}

// add records err, if any, and tells whether the verb must stop.
func (f *failures) add(err error) (stop bool) {
	switch {
	case err == nil:
		return false
	case exitCode(err) == exitNoService:
		f.first = err
		return true
	case f.first == nil:
		f.first = err
	default:
		fmt.Fprintln(f.w, err)
	}
	return false
}

// pick reads what args name, every object without args: a pattern picks
// from list()'s objects those whose names match, anything else is read by
// name. As systemctl status, it reads every one it can: the objects found
// are returned beside the first failure.
func pick[T any](a *app, args []string, list func() ([]T, error), names func(T) []string, read func(string) (T, error)) ([]T, error) {
	var all []T
	if len(args) == 0 || slices.ContainsFunc(args, isPattern) {
		var err error
		if all, err = list(); err != nil || len(args) == 0 {
			return all, err
		}
	}
	var out []T
	f := failures{w: a.stderr}
	for _, arg := range args {
		if !isPattern(arg) {
			v, err := read(arg)
			if f.add(err) {
				return nil, f.first
			}
			if err == nil {
				out = append(out, v)
			}
			continue
		}
		for _, v := range all {
			if slices.ContainsFunc(names(v), func(n string) bool { return globMatch(arg, n) }) {
				out = append(out, v)
			}
		}
	}
	return out, f.first
}
