package timers

import (
	"errors"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/calendar"
)

func previewManager(t *testing.T) *Manager {
	return managerWith(t, calendar.Engine{Host: calendar.UTC})
}

// managerWith is a manager for previews alone: they need none of its
// background work, so it is not run.
func managerWith(t *testing.T, cal Calendar) *Manager {
	return NewManager(Config{Calendar: cal, Log: zap.NewNop(), UnitDir: t.TempDir(), StateDir: t.TempDir()})
}

func TestParseCalendarAt(t *testing.T) {
	m := previewManager(t)
	const base = 1767225600000000 // 2026-01-01 00:00:00 UTC
	for name, tc := range map[string]struct {
		spec       string
		n          uint32
		normalized string
		next       []uint64
		err        error
	}{
		"strictly after base":  {spec: "daily", n: 3, normalized: "*-*-* 00:00:00", next: []uint64{base + 86400e6, base + 2*86400e6, base + 3*86400e6}},
		"across chunks":        {spec: "hourly", n: 20, normalized: "*-*-* *:00:00", next: hours(base, 20)},
		"stops elapsing":       {spec: "2026-01-02", n: 5, normalized: "2026-01-02 00:00:00", next: []uint64{base + 86400e6}},
		"never":                {spec: "2000-01-01", n: 5, normalized: "2000-01-01 00:00:00", next: []uint64{}},
		"validation only":      {spec: "weekly", n: 0, normalized: "Mon *-*-* 00:00:00", next: []uint64{}},
		"too many iterations":  {spec: "daily", n: 1001, err: ErrInvalidArgument},
		"invalid":              {spec: "bogus", n: 1, err: ErrInvalidCalendar},
		"full 1000, realistic": {spec: "Mon..Fri 02:30", n: 1000, normalized: "Mon..Fri *-*-* 02:30:00"},
		// Once refused at random on a loaded machine, when previews had a
		// budget of CPU time: one in 8 failed at a load of 1.
		"full 1000, costliest": {spec: "*-*-31 02:30 Europe/Berlin", n: 1000, normalized: "*-*-31 02:30:00 Europe/Berlin"},
	} {
		t.Run(name, func(t *testing.T) {
			normalized, next, err := m.ParseCalendarAt("test", tc.spec, base, tc.n)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || normalized != tc.normalized {
				t.Fatalf("= %q, %v; want %q", normalized, err, tc.normalized)
			}
			if tc.next != nil && !slices.Equal(next, tc.next) {
				t.Errorf("next = %v, want %v", next, tc.next)
			}
			if tc.next == nil && len(next) != int(tc.n) {
				t.Errorf("%d elapses, want %d", len(next), tc.n)
			}
		})
	}
}

func hours(base uint64, n int) []uint64 {
	var out []uint64
	for i := 1; i <= n; i++ {
		out = append(out, base+uint64(i)*3600e6)
	}
	return out
}

// recordingPreviews is a Previews port that runs every preview at once and
// records for whom, or refuses them all.
type recordingPreviews struct {
	callers []string
	refuse  error
}

func (p *recordingPreviews) Run(caller string, fn func(pause func())) error {
	p.callers = append(p.callers, caller)
	if p.refuse != nil {
		return p.refuse
	}
	fn(func() {})
	return nil
}

// Previews past one chunk go through the port, under the caller's key;
// shorter ones are as cheap as a rejection and do not wait for a turn.
// A refusal by the port is a named error, and the preview never ran.
func TestParseCalendarThroughPort(t *testing.T) {
	port := &recordingPreviews{}
	m := NewManager(Config{Calendar: calendar.Engine{Host: calendar.UTC}, Previews: port, Log: zap.NewNop(),
		UnitDir: t.TempDir(), StateDir: t.TempDir()})
	const base = 1767225600000000
	if _, next, err := m.ParseCalendarAt("uid 1000", "hourly", base, 20); err != nil || len(next) != 20 {
		t.Fatalf("20 elapses: %d, %v", len(next), err)
	}
	if _, next, err := m.ParseCalendarAt("uid 0", "hourly", base, previewChunk); err != nil || len(next) != previewChunk {
		t.Fatalf("one chunk: %d, %v", len(next), err)
	}
	if !slices.Equal(port.callers, []string{"uid 1000"}) {
		t.Errorf("the port ran previews for %q, want only the long one's caller", port.callers)
	}
	port.refuse = errors.New("too many computations in progress")
	if _, _, err := m.ParseCalendarAt("uid 1000", "hourly", base, 20); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("refused by the port: %v, want InvalidArgument", err)
	}
}
