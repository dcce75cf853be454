package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type unit string

func (u unit) String() string { return string(u) }

// What journald receives: one line per event, the priority prefix right
// before the message, then key=value fields; no timestamp, no logger name
// in the message.
func TestJournalLines(t *testing.T) {
	for name, tc := range map[string]struct {
		log  func(*zap.Logger)
		want string
	}{
		"fields in order, context first": {
			func(l *zap.Logger) {
				l.Named("timers").With(zap.Stringer("unit", unit("snapm-create@hourly.timer"))).
					Info("timer enabled", zap.Int("timers", 3), zap.Bool("reload", true))
			},
			"<6>timer enabled unit=snapm-create@hourly.timer timers=3 reload=true logger=timers\n",
		},
		"values with spaces, quotes, '=' or nothing quoted": {
			func(l *zap.Logger) {
				l.Warn("reading timer, ignoring", zap.Error(errors.New(`open "x": no such file`)),
					zap.String("spec", "Mon 08:00"), zap.String("name", "a=b"), zap.String("empty", ""))
			},
			`<4>reading timer, ignoring error="open \"x\": no such file" spec="Mon 08:00" name="a=b" empty=""` + "\n",
		},
		"hostile text stays on its line": {
			func(l *zap.Logger) { l.Error("bad\nmessage", zap.String("name", "x\ny")) },
			`<3>"bad\nmessage" name="x\ny"` + "\n",
		},
		"durations, lists": {
			func(l *zap.Logger) {
				l.Debug("took", zap.Duration("wait", 1500*time.Millisecond), zap.Strings("calendars", []string{"hourly", "Mon 08:00"}))
			},
			`<7>took wait=1.5s calendars=["hourly","Mon 08:00"]` + "\n",
		},
	} {
		var b bytes.Buffer
		tc.log(zap.New(NewCore(&b, zapcore.DebugLevel, true)))
		if b.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", name, b.String(), tc.want)
		}
	}
}

// On a terminal: the time and level first, the same line after them.
func TestTerminalLines(t *testing.T) {
	var b bytes.Buffer
	zap.New(NewCore(&b, zapcore.InfoLevel, false)).Named("dbus").Info("ready", zap.String("bus_name", "com.redhat.Snapm.Timers"))
	zap.New(NewCore(&b, zapcore.InfoLevel, false)).Debug("below the level")
	line, _, _ := strings.Cut(b.String(), " ")
	if _, err := time.Parse("2006-01-02T15:04:05.000Z07:00", line); err != nil {
		t.Errorf("line does not start with a time: %q (%v)", b.String(), err)
	}
	if got, want := b.String()[len(line):], " INFO ready bus_name=com.redhat.Snapm.Timers logger=dbus\n"; got != want {
		t.Errorf("got %q, want %q after the time", got, want)
	}
}
