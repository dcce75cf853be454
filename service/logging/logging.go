// Package logging builds the daemon's logger: journald-friendly under
// systemd (priority prefixes, no timestamps: the journal has its own),
// human-friendly on a terminal.
package logging

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger at level writing to stderr.
func New(level zapcore.Level) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.ConsoleSeparator = " "
	enc.CallerKey = ""
	enc.StacktraceKey = ""
	if os.Getenv("JOURNAL_STREAM") != "" {
		enc.TimeKey = ""
		enc.EncodeLevel = syslogPrefix
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level)
	return zap.New(core)
}

// syslogPrefix writes sd-daemon(3) priority prefixes, which journald turns
// into the entry's PRIORITY=.
func syslogPrefix(l zapcore.Level, pae zapcore.PrimitiveArrayEncoder) {
	switch {
	case l <= zapcore.DebugLevel:
		pae.AppendString("<7>")
	case l == zapcore.InfoLevel:
		pae.AppendString("<6>")
	case l == zapcore.WarnLevel:
		pae.AppendString("<4>")
	case l == zapcore.ErrorLevel:
		pae.AppendString("<3>")
	default:
		pae.AppendString("<2>")
	}
}
