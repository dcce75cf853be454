package schedule

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// goldens are the schedules testdata/golden.py made snapm write.
var goldens = map[string]Schedule{
	"all": {Name: "all", Sources: []string{"/"}, Autoindex: true, CalendarSpec: "daily",
		PolicyName: "all", PolicyType: All},
	"all-size": {Name: "all-size", Sources: []string{"/:25%FREE", "/var:2G", "/home"},
		DefaultSizePolicy: "10%SIZE", Autoindex: true, CalendarSpec: "Mon..Fri 02:30",
		Boot: true, Revert: true, PolicyName: "all-size", PolicyType: All},
	"count": {Name: "count", Sources: []string{"/", "/var"}, Autoindex: true,
		CalendarSpec: "hourly", PolicyName: "count", PolicyType: Count,
		Params: []Param{{"keep_count", 7}}},
	"count-zero": {Name: "count-zero", Sources: []string{"/dev/vg0/lv0:100%SIZE"},
		DefaultSizePolicy: "2g", CalendarSpec: "*-*-* 00/6:00:00", Boot: true,
		PolicyName: "count-zero", PolicyType: Count, Params: []Param{{"keep_count", 0}}},
	"age": {Name: "age", Sources: []string{"/"}, Autoindex: true, CalendarSpec: "weekly",
		Revert: true, PolicyName: "age", PolicyType: Age,
		Params: []Param{{"keep_years", 1}, {"keep_months", 2}, {"keep_weeks", 3}, {"keep_days", 4}}},
	"age-negative": {Name: "age-negative", Sources: []string{"/srv:0%USED", "/opt:512MiB"},
		DefaultSizePolicy: "50%FREE", Autoindex: true, CalendarSpec: "monthly",
		PolicyName: "age-negative", PolicyType: Age,
		Params: []Param{{"keep_years", 0}, {"keep_months", -1}, {"keep_weeks", 0}, {"keep_days", 0}}},
	"timeline": {Name: "timeline", Sources: []string{"/", "/home:15%USED"}, Autoindex: true,
		CalendarSpec: "*:0/15", Boot: true, Revert: true, PolicyName: "timeline",
		PolicyType: Timeline, Params: []Param{{"keep_yearly", 1}, {"keep_quarterly", 2},
			{"keep_monthly", 3}, {"keep_weekly", 4}, {"keep_daily", 5}, {"keep_hourly", 6}}},
	"timeline-unicode": {Name: "timeline-unicode",
		Sources:           []string{"/mnt/café", "/mnt/日本:2G", "/mnt/😀 \"q\" \\ tab\t:1%SIZE"},
		DefaultSizePolicy: "200%USED", CalendarSpec: "Sat *-*-1..7 18:00:00",
		PolicyName: "timeline-unicode", PolicyType: Timeline,
		Params: []Param{{"keep_yearly", 0}, {"keep_quarterly", 0}, {"keep_monthly", 0},
			{"keep_weekly", 0}, {"keep_daily", 7}, {"keep_hourly", 24}}},
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) != len(goldens) {
		t.Fatalf("golden files %v (%v), want one for each of the %d schedules", files, err, len(goldens))
	}
	for name, want := range goldens {
		t.Run(name, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata/golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := want.Marshal(); !bytes.Equal(got, golden) {
				t.Errorf("Marshal:\n%s\nsnapm wrote:\n%s", got, golden)
			}
			got, err := Parse(golden)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.Equal(want) {
				t.Errorf("Parse = %#v, want %#v", got, want)
			}
			if again := got.Marshal(); !bytes.Equal(again, golden) {
				t.Errorf("Marshal(Parse(golden)) differs:\n%s", again)
			}
		})
	}
}
