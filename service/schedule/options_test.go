package schedule

import (
	"errors"
	"testing"
)

func TestNew(t *testing.T) {
	sources := []string{"/", "/var:2G"}
	s, err := New("db1", sources, "Mon..Fri 02:30", Options{
		"policy_type": "Age", "keep_weeks": uint64(2), "keep_count": 9,
		"default_size_policy": "10%SIZE", "boot": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{Name: "db1", Sources: []string{"/", "/var:2G"}, DefaultSizePolicy: "10%SIZE",
		Autoindex: true, CalendarSpec: "Mon..Fri 02:30", Boot: true, PolicyName: "db1",
		PolicyType: Age, Params: []Param{{"keep_years", 0}, {"keep_months", 0}, {"keep_weeks", 2}, {"keep_days", 0}}}
	if !s.Equal(want) {
		t.Errorf("New = %#v, want %#v", s, want)
	}
	sources[0] = "/changed"
	if s.Sources[0] != "/" {
		t.Error("New keeps the caller's slice of sources")
	}
	for _, tc := range []struct {
		label string
		cal   string
		opts  Options
	}{
		{"sources is no option of New", "daily", Options{"policy_type": "all", "sources": []string{"/"}}},
		{"calendarspec is no option of New", "daily", Options{"policy_type": "all", "calendarspec": "daily"}},
		{"an empty calendar", "", Options{"policy_type": "all"}},
		{"a bool as integer", "daily", Options{"policy_type": "count", "keep_count": true}},
		{"an integer as bool", "daily", Options{"policy_type": "all", "boot": 1}},
		{"an integer too large", "daily", Options{"policy_type": "count", "keep_count": uint64(1 << 63)}},
		{"a policy type not a string", "daily", Options{"policy_type": []string{"all"}}},
	} {
		if _, err := New("db1", []string{"/"}, tc.cal, tc.opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", tc.label, err)
		}
	}
}

func TestEdit(t *testing.T) {
	base := Schedule{Name: "db1", Sources: []string{"/", "/var:2G"}, DefaultSizePolicy: "5%SIZE",
		Autoindex: true, CalendarSpec: "daily", Boot: true, PolicyName: "from-elsewhere",
		PolicyType: Timeline, Params: zeroParams(Timeline)}
	base.Params[4].Value = 7 // keep_daily
	with := func(f func(*Schedule)) Schedule {
		s := base.clone()
		f(&s)
		return s
	}
	for _, tc := range []struct {
		label   string
		changes Options
		want    Schedule // zero: refused
	}{
		{"nothing", Options{}, base},
		{"calendar", Options{"calendarspec": "weekly"},
			with(func(s *Schedule) { s.CalendarSpec = "weekly" })},
		{"sources", Options{"sources": []string{"/home:10%FREE"}},
			with(func(s *Schedule) { s.Sources = []string{"/home:10%FREE"} })},
		{"default size policy cleared", Options{"default_size_policy": ""},
			with(func(s *Schedule) { s.DefaultSizePolicy = "" })},
		{"flags", Options{"autoindex": false, "boot": false, "revert": true},
			with(func(s *Schedule) { s.Autoindex, s.Boot, s.Revert = false, false, true })},
		{"one keep key of the type", Options{"keep_hourly": int16(24)},
			with(func(s *Schedule) { s.Params[5].Value = 24; s.PolicyName = "db1" })},
		{"the same type keeps its keys", Options{"policy_type": "timeline", "keep_yearly": 1},
			with(func(s *Schedule) { s.Params[0].Value = 1; s.PolicyName = "db1" })},
		{"another type starts at 0", Options{"policy_type": "COUNT", "keep_daily": 3},
			with(func(s *Schedule) {
				s.PolicyType, s.Params, s.PolicyName = Count, []Param{{"keep_count", 0}}, "db1"
			})},
		{"ALL", Options{"policy_type": "all"},
			with(func(s *Schedule) { s.PolicyType, s.Params, s.PolicyName = All, nil, "db1" })},
		{"no sources", Options{"sources": []string{}}, Schedule{}},
		{"duplicate sources", Options{"sources": []string{"/a", "/a/"}}, Schedule{}},
		{"a source's bad size policy", Options{"sources": []string{"/:x%FREE"}}, Schedule{}},
		{"an empty calendar", Options{"calendarspec": ""}, Schedule{}},
		{"the name", Options{"name": "db2"}, Schedule{}},
		{"sources as a string", Options{"sources": "/"}, Schedule{}},
		{"an unknown policy type", Options{"policy_type": "hourly"}, Schedule{}},
	} {
		got, err := base.Edit(tc.changes)
		switch {
		case tc.want.Name == "" && !errors.Is(err, ErrInvalid):
			t.Errorf("%s: Edit = %v, want ErrInvalid", tc.label, err)
		case tc.want.Name != "" && err != nil:
			t.Errorf("%s: Edit: %v", tc.label, err)
		case tc.want.Name != "" && !got.Equal(tc.want):
			t.Errorf("%s: Edit = %#v, want %#v", tc.label, got, tc.want)
		}
		if got.Name != "" && len(got.Params) > 0 {
			got.Params[0].Value, got.Sources[0] = 99, "/changed"
		}
		if base.Params[0].Value != 0 || base.Sources[0] != "/" {
			t.Fatalf("%s: changing Edit's result changed the schedule edited", tc.label)
		}
	}
	// snapm's edit checks the sources again, given or not.
	loaded := with(func(s *Schedule) { s.Sources = []string{"/", "/./"} })
	if _, err := loaded.Edit(Options{"boot": false}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Edit of a schedule with duplicate sources = %v, want ErrInvalid", err)
	}
}
