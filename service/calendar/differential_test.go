package calendar

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDifferential runs the engine against this machine's own systemd 252
// (`systemd-analyze calendar`) on generated expressions, valid and not,
// in zones with the hard cases: none (UTC), an ordinary European one, an
// American one, and Lord Howe's half-hour DST. Any disagreement is
// reported with its expression. The seed is logged; CALENDAR_SEED reruns
// one, CALENDAR_CASES scales the run.
func TestDifferential(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is needed for the differential test:", err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CALENDAR_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	perZone := 1200
	if s := os.Getenv("CALENDAR_CASES"); s != "" {
		if perZone, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (CALENDAR_SEED=%d reproduces this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	const iterations = 4
	total, valid := 0, 0
	for _, zoneName := range []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		host, err := LoadZone(zoneName)
		if err != nil {
			t.Fatal(err)
		}
		for batch := 0; batch < perZone/100; batch++ {
			base := baseTime(rng, host)
			exprs := generateBatch(rng, 100)
			// Whether a host zone abbreviation is recognized depends on
			// the tzname[] glibc last left behind, which every localtime()
			// call may change: systemd-analyze's verdict on such an
			// expression depends on the ones before it. The engine models
			// a fresh process, so those get one each.
			var batch, alone []string
			for _, e := range exprs {
				if i := strings.LastIndexByte(e, ' '); i >= 0 && (e[i+1:] == host.names[0] || e[i+1:] == host.names[1]) {
					alone = append(alone, e)
				} else {
					batch = append(batch, e)
				}
			}
			got, err := runAnalyze(analyze, zoneName, base, iterations, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range alone {
				one, err := runAnalyze(analyze, zoneName, base, iterations, []string{e})
				if err != nil {
					t.Fatal(err)
				}
				got[e] = one[e]
			}
			for _, expr := range exprs {
				want := got[expr]
				have := engineOutcome(expr, host, base, iterations)
				total++
				if want.valid {
					valid++
				}
				if want.failed && have.valid && strings.HasSuffix(have.elapses, "error") {
					continue
				}
				if have != want {
					t.Errorf("TZ=%s base @%d %q:\n  systemd-analyze: %s\n  engine:          %s", zoneName, base, expr, want, have)
				}
			}
		}
	}
	t.Logf("%d expressions compared (%d valid, %d invalid) across 4 zones, %d elapses each", total, valid, total-valid, iterations)
	if total < 1000 && os.Getenv("CALENDAR_CASES") == "" {
		t.Errorf("only %d cases ran", total)
	}
}

// outcome is what systemd-analyze reports about one expression.
type outcome struct {
	valid      bool
	failed     bool // valid, but computing an elapse failed
	normalized string
	elapses    string // seconds, space-separated; "never" ends the list
}

func (o outcome) String() string {
	if !o.valid {
		return "invalid"
	}
	if o.failed {
		return "valid, but an elapse cannot be computed"
	}
	return fmt.Sprintf("%q next %s", o.normalized, o.elapses)
}

func engineOutcome(expr string, host *Zone, base int64, iterations int) outcome {
	spec, err := Parse(expr, host)
	if err != nil {
		return outcome{}
	}
	o := outcome{valid: true, normalized: spec.String()}
	var secs []string
	cur := uint64(base) * usecPerSec
	for i := 0; i < iterations; i++ {
		next, err := spec.Next(cur)
		if errors.Is(err, ErrNever) {
			if i == 0 {
				secs = append(secs, "never")
			}
			break
		}
		if err != nil {
			secs = append(secs, "error")
			break
		}
		secs = append(secs, strconv.FormatUint(next/usecPerSec, 10))
		cur = next
	}
	o.elapses = strings.Join(secs, " ")
	return o
}

// runAnalyze asks systemd-analyze about every expression at once.
func runAnalyze(analyze, zone string, base int64, iterations int, exprs []string) (map[string]outcome, error) {
	args := []string{"calendar", fmt.Sprintf("--base-time=@%d", base), fmt.Sprintf("--iterations=%d", iterations), "--"}
	cmd := exec.Command(analyze, append(args, exprs...)...)
	cmd.Env = append(os.Environ(), "TZ=:"+zone, "SYSTEMD_COLORS=0", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}
	// One block per valid expression, in order, separated by blank lines;
	// "Original form" is printed only where it differs from the normalized.
	out := map[string]outcome{}
	var cur *outcome
	var original string
	var secs []string
	flush := func() {
		if cur != nil {
			cur.elapses = strings.Join(secs, " ")
			if original == "" {
				original = cur.normalized
			}
			out[original] = *cur
		}
		cur, original, secs = nil, "", nil
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if cur == nil {
			cur = &outcome{valid: true}
		}
		key, value, _ := strings.Cut(strings.TrimLeft(line, " "), ": ")
		switch {
		case strings.HasPrefix(line, "  Original form: "):
			original = strings.TrimPrefix(line, "  Original form: ")
		case key == "Normalized form":
			cur.normalized = value
		case key == "Next elapse" && value == "never":
			secs = append(secs, "never")
		case key == "Next elapse" || strings.HasPrefix(key, "Iter. #"):
			s, err := analyzeSeconds(value)
			if err != nil {
				return nil, err
			}
			secs = append(secs, s)
		case key == "(in UTC)":
			s, err := analyzeSeconds(value)
			if err != nil {
				return nil, err
			}
			secs[len(secs)-1] = s
		}
	}
	flush()
	// An elapse systemd could not compute ends that expression's list.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if e, ok := strings.CutPrefix(line, "Failed to determine next elapse for '"); ok {
			e = e[:strings.LastIndex(e, "': ")]
			// systemd-analyze then prints nothing else about it.
			out[e] = outcome{valid: true, failed: true}
		}
	}
	return out, nil
}

// analyzeSeconds reads a timestamp systemd-analyze printed; only the UTC
// ones are read as such, local ones get replaced by their "(in UTC)" line.
func analyzeSeconds(s string) (string, error) {
	if !strings.HasSuffix(s, " UTC") {
		return "local", nil
	}
	t, err := time.Parse("Mon 2006-01-02 15:04:05 MST", s)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(t.Unix(), 10), nil
}

// baseTime picks a start: often just before a DST change of the zone,
// otherwise anywhere in 2000..2040.
func baseTime(rng *rand.Rand, z *Zone) int64 {
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	end := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	t := start + rng.Int64N(end-start)
	if rng.IntN(2) == 0 {
		// Walk to the next offset change and start a little before it.
		_, off := time.Unix(t, 0).In(z.loc).Zone()
		for probe := t; probe < t+400*86400; probe += 3600 {
			if _, o := time.Unix(probe, 0).In(z.loc).Zone(); o != off {
				return probe - int64(rng.IntN(3*3600))
			}
		}
	}
	return t
}

var (
	genWeekdays = []string{"", "", "", "Mon", "mon", "Monday", "Mon..Fri", "Mon-Fri", "Sat,Sun", "Tue,Thu..Sat",
		"Fri..Mon", "Mon,", "Mon..", "Wed-Wed", "Sun,Mon", "Thu,Fri", "Mo", "Mon.Fri", "SUNDAY", "Mon,,Tue"}
	genDates = []string{"", "", "*-*-*", "*-*-1", "*-*-01", "2024-02-29", "*-02-29", "*-02-30", "*-*~1", "*-*~03..01",
		"*-*-1/5", "*-1/7-1", "2025..2027-*-*", "12-25", "*-*-29..31", "99-*-*", "*-*~07/1", "2199-12-31",
		"2200-01-01", "*-*-0", "*-13-*", "*-*-1,15", "*-*~1,2", "*-10-25..31", "*-03-25..31", "2024-*-*",
		"*-*-31", "*-*-1/11", "*-*-*-*", "*-*~*", "20-4-1", "*~01", "*-*-1..1", "1..3-1..3",
		"*-*~1,25", "*-*~2,26", "*-*~1..3,20", "*-*~5/2", "*-02~1", "*-*~28", "*-*~29"}
	genTimes = []string{"", "", "00:00", "12:*", "*:0/15", "*:*:0/10", "02:30", "01:30", "03:00", "02:00",
		"23:59:59", "*:30", "0..5/2:00", "08:05:40.5", "00:00:00.1234567", "*:*:*", "9..11,13:00,30", "25:00",
		"12:60", "*:*:60", "*:*/15", "*:0,30", "01,02:30", "2:30:15", "*:*:0.5/0.25", "1:2:3:4", "00:00:1.0..3.8",
		"*:05..10/6", "*:20..39/5", "03:00,15:00", "*:30/30", "0:0", "00:00:59.9999995"}
	genSuffixes = []string{"", "", "", "", " UTC", " utc", " Europe/Berlin", " America/New_York",
		" Australia/Lord_Howe", " CET", " CEST", " EST", " EDT", " +1030", " Bogus/Zone", " Europe//Berlin"}
	genWords = []string{"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "anually",
		"quarterly", "semiannually", "semi-annually", "biannually", "bi-annually", "HOURLY", "Daily", "fortnightly"}
	junk = []byte(" -~:.,/*@0123456789xX")
)

// generateBatch composes distinct expressions from grammar pieces, some of
// them mutated into near misses.
func generateBatch(rng *rand.Rand, n int) []string {
	seen := map[string]bool{}
	var out []string
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	for len(out) < n {
		var expr string
		switch rng.IntN(10) {
		case 0:
			expr = pick(genWords) + pick(genSuffixes)
		case 1:
			expr = fmt.Sprintf("@%d", rng.Int64N(8_000_000_000)-100) + pick(genSuffixes)
		default:
			parts := []string{pick(genWeekdays), pick(genDates), pick(genTimes)}
			var kept []string
			for _, p := range parts {
				if p != "" {
					kept = append(kept, p)
				}
			}
			expr = strings.Join(kept, " ") + pick(genSuffixes)
		}
		if rng.IntN(6) == 0 && expr != "" {
			b := []byte(expr)
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[i] = junk[rng.IntN(len(junk))]
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{junk[rng.IntN(len(junk))]}, b[i:]...)...)
			}
			expr = string(b)
		}
		// Options are not expressions; "--" protects them, but an empty
		// or blank one is just noise.
		if strings.TrimSpace(expr) == "" || seen[expr] {
			continue
		}
		seen[expr] = true
		out = append(out, expr)
	}
	return out
}
