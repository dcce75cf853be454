package calendar

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAnalyzer(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec, normalized string
		next             time.Time
	}{
		{"hourly", "*-*-* *:00:00", base.Add(time.Hour)},
		{"Thu,Fri *-*-1,5 11:12:13", "Thu,Fri *-*-01,05 11:12:13", time.Date(2026, 1, 1, 11, 12, 13, 0, time.UTC)},
		{"Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40", time.Date(2026, 1, 3, 8, 5, 40, 0, time.UTC)},
		{"2024-02-30", "2024-02-30 00:00:00", time.Time{}}, // valid, never elapses
		{"-1", "", time.Time{}}, // not an option, thanks to "--"
	} {
		info, err := Analyzer{}.Parse(context.Background(), tc.spec, base)
		if tc.normalized == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %v, want ErrInvalid", tc.spec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		want := uint64(0)
		if !tc.next.IsZero() {
			want = uint64(tc.next.UnixMicro())
		}
		if info.Normalized != tc.normalized || info.Next != want {
			t.Errorf("Parse(%q) = %+v, want %q %d", tc.spec, info, tc.normalized, want)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, spec := range []string{"", "daily\nUnit=evil.service", "daily\x00", "\tdaily", "daily\x7f",
		strings.Repeat("*", MaxLen+1), "\xff\xfe"} {
		err := CheckText(spec)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckText(%q) = %v, want ErrInvalid", spec, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\x00\t\x7f") {
			t.Errorf("CheckText(%q) message carries control characters: %q", spec, err)
		}
	}
	if err := CheckText("Mon..Fri *-*-* 08:00 Europe/Berlin"); err != nil {
		t.Errorf("CheckText rejected a good expression: %v", err)
	}
}

func TestParseAnalyzeOutputOffUTC(t *testing.T) {
	out := "  Original form: daily\nNormalized form: *-*-* 00:00:00\n    Next elapse: Wed 2026-11-25 00:00:00 CET\n       (in UTC): Tue 2026-11-24 23:00:00 UTC\n       From now: 21h left\n"
	info, err := parseAnalyzeOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC).UnixMicro()); info.Next != want {
		t.Errorf("Next = %d, want %d", info.Next, want)
	}
}
