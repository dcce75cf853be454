package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Marshal returns the file snapm 0.7 writes for s, byte for byte:
// Python's json.dumps(indent=4) of Schedule.to_dict() (ensure_ascii, ","
// and ": " separators, no final newline), keys in snapm's order.
func (s Schedule) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	field(&b, 1, "name")
	pyString(&b, s.Name)
	b.WriteString(",\n")
	field(&b, 1, "sources")
	if len(s.Sources) == 0 {
		b.WriteString("[]")
	} else {
		b.WriteString("[")
		for i, src := range s.Sources {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent(2))
			pyString(&b, src)
		}
		b.WriteString("\n" + indent(1) + "]")
	}
	b.WriteString(",\n")
	field(&b, 1, "default_size_policy")
	if s.DefaultSizePolicy == "" {
		b.WriteString("null")
	} else {
		pyString(&b, s.DefaultSizePolicy)
	}
	b.WriteString(",\n")
	field(&b, 1, "autoindex")
	b.WriteString(strconv.FormatBool(s.Autoindex) + ",\n")
	field(&b, 1, "calendarspec")
	pyString(&b, s.CalendarSpec)
	b.WriteString(",\n")
	field(&b, 1, "boot")
	b.WriteString(strconv.FormatBool(s.Boot) + ",\n")
	field(&b, 1, "revert")
	b.WriteString(strconv.FormatBool(s.Revert) + ",\n")
	field(&b, 1, "gc_policy")
	b.WriteString("{\n")
	field(&b, 2, "policy_name")
	pyString(&b, s.PolicyName)
	b.WriteString(",\n")
	field(&b, 2, "policy_type")
	pyString(&b, string(s.PolicyType))
	for _, p := range s.Params {
		b.WriteString(",\n")
		field(&b, 2, p.Key)
		b.WriteString(strconv.FormatInt(p.Value, 10))
	}
	b.WriteString("\n" + indent(1) + "}\n}")
	return b.Bytes()
}

func indent(level int) string {
	return "            "[:4*level]
}

func field(b *bytes.Buffer, level int, key string) {
	b.WriteString(indent(level))
	pyString(b, key)
	b.WriteString(": ")
}

// pyString writes s as Python's json.dumps with ensure_ascii does: every
// character outside ' '..'~' escaped, the short escapes where JSON has
// them, \uXXXX in lower case otherwise, UTF-16 surrogate pairs past U+FFFF.
func pyString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[r>>shift&0xf])
		}
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case ' ' <= r && r <= '~':
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			u4(0xd800 | r>>10)
			u4(0xdc00 | r&0x3ff)
		default:
			u4(r)
		}
	}
	b.WriteByte('"')
}

// Parse reads a schedule file as snapm 0.7 loads it (Schedule.from_file,
// from_dict, GcPolicy.from_dict), or says why snapm cannot: not UTF-8, not
// a JSON object, a missing key, a policy_type that is not one of the four
// names (case-sensitive), an empty policy_name, or a gc_policy key that is
// not the type's (snapm's dataclass refuses it). A keep_* key missing is
// 0, as in snapm; keys snapm does not read are ignored, as snapm ignores
// them. Parse is stricter than Python where snapm would take a value of
// the wrong type and fail later: each value must have the type snapm
// writes, and keep_* values must be integers that fit 64 bits. The
// calendar is the caller's to check; an empty one is refused. Neither the
// name nor the sources are checked: snapm loads what it would not create.
func Parse(data []byte) (Schedule, error) {
	if !utf8.Valid(data) {
		return Schedule{}, fmt.Errorf("%w: not UTF-8", ErrInvalid)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Schedule{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if loneSurrogate(data) {
		// Go would read it as U+FFFD, and a rewrite would change the path.
		return Schedule{}, fmt.Errorf("%w: a string holds a lone UTF-16 surrogate (Python's "+
			"escape of a path that is not UTF-8), which no D-Bus string can carry", ErrInvalid)
	}
	var s Schedule
	var gc map[string]json.RawMessage
	if err := get(top, "gc_policy", &gc); err != nil {
		return Schedule{}, err
	}
	var ptype string
	if err := get(gc, "policy_type", &ptype); err != nil {
		return Schedule{}, err
	}
	s.PolicyType = PolicyType(ptype)
	keys, ok := paramKeys[s.PolicyType]
	if !ok {
		return Schedule{}, fmt.Errorf("%w: unknown policy_type %q", ErrInvalid, ptype)
	}
	if err := get(gc, "policy_name", &s.PolicyName); err != nil {
		return Schedule{}, err
	}
	if s.PolicyName == "" {
		return Schedule{}, fmt.Errorf("%w: GcPolicy name cannot be empty", ErrInvalid)
	}
	s.Params = zeroParams(s.PolicyType)
	for key, raw := range gc {
		i := slices.Index(keys, key)
		switch {
		case key == "policy_type" || key == "policy_name":
		case i < 0:
			return Schedule{}, fmt.Errorf("%w: gc_policy key %q is not one of policy type %s", ErrInvalid, key, ptype)
		default:
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return Schedule{}, fmt.Errorf("%w: gc_policy key %q is not a 64-bit integer: %s", ErrInvalid, key, raw)
			}
			s.Params[i].Value = n
		}
	}
	var dsp *string
	var sources []*string
	for _, f := range []struct {
		key string
		to  any
	}{
		{"name", &s.Name},
		{"sources", &sources},
		{"default_size_policy", &dsp},
		{"autoindex", &s.Autoindex},
		{"calendarspec", &s.CalendarSpec},
		{"boot", &s.Boot},
		{"revert", &s.Revert},
	} {
		if err := get(top, f.key, f.to); err != nil {
			return Schedule{}, err
		}
	}
	s.Sources = make([]string, len(sources))
	for i, src := range sources {
		if src == nil {
			return Schedule{}, fmt.Errorf("%w: a source is null", ErrInvalid)
		}
		s.Sources[i] = *src
	}
	if dsp != nil {
		s.DefaultSizePolicy = *dsp
	}
	if s.CalendarSpec == "" {
		return Schedule{}, fmt.Errorf("%w: the calendar spec is empty", ErrInvalid)
	}
	return s, nil
}

// loneSurrogate says whether a string of the JSON text data escapes half
// a UTF-16 surrogate pair without the other half, which Python's json
// writes for the surrogateescape'd bytes of a path that is not UTF-8.
func loneSurrogate(data []byte) bool {
	escaped := func(i int) (rune, bool) { // the \uXXXX at data[i:], if any
		if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '"':
			inString = !inString
		case inString && data[i] == '\\':
			r, ok := escaped(i)
			if !ok {
				i++ // a short escape
				continue
			}
			i += 5
			switch {
			case 0xdc00 <= r && r <= 0xdfff:
				return true
			case 0xd800 <= r && r <= 0xdbff:
				if low, ok := escaped(i + 1); !ok || low < 0xdc00 || low > 0xdfff {
					return true
				}
				i += 6
			}
		}
	}
	return false
}

// get decodes m[key] into to, which a JSON null leaves alone for a pointer
// and refuses for anything else.
func get(m map[string]json.RawMessage, key string, to any) error {
	raw, ok := m[key]
	if !ok {
		return fmt.Errorf("%w: missing key %q", ErrInvalid, key)
	}
	if string(raw) == "null" {
		if _, isPtr := to.(**string); !isPtr {
			return fmt.Errorf("%w: key %q is null", ErrInvalid, key)
		}
	}
	if err := json.Unmarshal(raw, to); err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrInvalid, key, err)
	}
	return nil
}
