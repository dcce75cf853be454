// Package buslabel turns names into D-Bus object-path elements. It lives
// apart from the domain (service/timers knows nothing of D-Bus) and is shared
// by the systemd1 adapter, whose unit paths it must predict, and by our own
// D-Bus adapter, whose paths follow the same rule.
package buslabel

import "strings"

// Escape escapes s into one D-Bus object-path element exactly as systemd's
// bus_label_escape() does, so our paths and systemd's unit paths follow one
// rule: [A-Za-z] kept, digits kept except in first position, every other
// byte as _xx in lowercase hex.
func Escape(s string) string {
	if s == "" {
		return "_"
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || (i > 0 && isDigit(c)) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
