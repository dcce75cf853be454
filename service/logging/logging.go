// Package logging builds the daemon's logger: one line per event, the
// message then its fields as key=value. Under systemd each line starts with
// an sd-daemon(3) priority prefix and has no timestamp (the journal keeps
// its own); on a terminal it starts with the time and the level.
package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger at level writing to stderr.
func New(level zapcore.Level) *zap.Logger {
	return zap.New(NewCore(os.Stderr, level, os.Getenv("JOURNAL_STREAM") != ""))
}

// NewCore writes to w, in the journal's form when journal is set.
func NewCore(w io.Writer, level zapcore.LevelEnabler, journal bool) zapcore.Core {
	return &core{LevelEnabler: level, out: &output{w: w}, journal: journal}
}

// output serializes writes: each line reaches the writer in one Write, so
// that journald never sees half a line.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

type core struct {
	zapcore.LevelEnabler
	out     *output
	journal bool
	fields  []zapcore.Field // from With, in order
}

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.fields = append(slices.Clip(c.fields), fields...)
	return &clone
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	var b bytes.Buffer
	if c.journal {
		b.WriteString(priority(e.Level))
	} else {
		b.WriteString(e.Time.Format("2006-01-02T15:04:05.000Z07:00 "))
		b.WriteString(e.Level.CapitalString() + " ")
	}
	b.WriteString(message(e.Message))
	for _, f := range append(slices.Clip(c.fields), fields...) {
		writeField(&b, f)
	}
	if e.LoggerName != "" {
		b.WriteString(" logger=" + value(e.LoggerName))
	}
	b.WriteByte('\n')
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	_, err := c.out.w.Write(b.Bytes())
	return err
}

func (c *core) Sync() error {
	if s, ok := c.out.w.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}

// priority is the sd-daemon(3) prefix journald turns into PRIORITY=.
func priority(l zapcore.Level) string {
	switch {
	case l <= zapcore.DebugLevel:
		return "<7>"
	case l == zapcore.InfoLevel:
		return "<6>"
	case l == zapcore.WarnLevel:
		return "<4>"
	case l == zapcore.ErrorLevel:
		return "<3>"
	default:
		return "<2>"
	}
}

// message keeps an event on one line even if its text has a line break.
func message(m string) string {
	if strings.ContainsFunc(m, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(m)
	}
	return m
}

// writeField appends " key=value" for each key the field adds (most add
// one; a namespace or an inline object adds several, in key order).
func writeField(b *bytes.Buffer, f zapcore.Field) {
	m := zapcore.NewMapObjectEncoder()
	f.AddTo(m)
	keys := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, " %s=%s", k, value(m.Fields[k]))
	}
}

// value is a field's value as one token: a string quoted when it is empty
// or has a space, quote, '=' or control character; lists and objects as
// JSON.
func value(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r == 0x7f }) {
			return strconv.Quote(v)
		}
		return v
	case time.Duration:
		return v.String()
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case []any, map[string]any:
		data, err := json.Marshal(v)
		if err != nil {
			return strconv.Quote(fmt.Sprint(v))
		}
		return string(data)
	case fmt.Stringer:
		return value(v.String())
	}
	return value(fmt.Sprint(v))
}
