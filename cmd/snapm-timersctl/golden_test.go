package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/calendar"
)

var update = flag.Bool("update", false, "rewrite the golden files from the output")

// The fixed clock: Mon 2026-11-30 04:00:00 UTC.
var fixedNow = time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)

func usec(t time.Time) uint64 { return uint64(t.UnixMicro()) }

func testApp(t *testing.T, tty bool, env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	a := &app{
		stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] },
		now: func() time.Time { return fixedNow }, loc: time.UTC, tty: tty,
		zone: func() (*calendar.Zone, error) { return calendar.UTC, nil },
		dial: func(context.Context) (*client, error) { return nil, errors.New("no bus in golden tests") },
	}
	a.opts.noPager = true
	return a, &out, &errOut
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s--- want ---\n%s", name, path, got, want)
	}
}

func timer(typ, name, spec, normalized, status string, next, last uint64, extra map[string]any) Timer {
	props := map[string]dbus.Variant{
		"Type": dbus.MakeVariant(typ), "Name": dbus.MakeVariant(name),
		"Unit":         dbus.MakeVariant("snapm-" + typ + "@" + name + ".timer"),
		"CalendarSpec": dbus.MakeVariant(spec), "Normalized": dbus.MakeVariant(normalized),
		"Status": dbus.MakeVariant(status), "Enabled": dbus.MakeVariant(status != "disabled"),
		"Running": dbus.MakeVariant(status == "running"), "NextElapse": dbus.MakeVariant(next),
		"LastTrigger": dbus.MakeVariant(last), "Occurs": dbus.MakeVariant(next != 0),
	}
	for k, v := range extra {
		props[k] = dbus.MakeVariant(v)
	}
	return Timer{Path: dbus.ObjectPath("/com/redhat/Snapm/Timers/" + typ + "/" + name), Props: props}
}

// fixture is a set of timers in every status, one with the last run an
// issue-10 daemon publishes.
func fixture() []Timer {
	h := func(d time.Duration) uint64 { return usec(fixedNow.Add(d)) }
	return []Timer{
		timer("gc", "weekly", "Sun 03:00", "Sun *-*-* 03:00:00", "enabled", h(143*time.Hour), 0, nil),
		timer("create", "nightly", "daily", "*-*-* 00:00:00", "running", h(20*time.Hour), h(-4*time.Hour), map[string]any{
			"Activity": "idle", "LastRunResult": "success", "LastRunExitStatus": int32(0),
			"LastRunStart": h(-4 * time.Hour), "LastRunEnd": h(-4*time.Hour + 93*time.Second), "LastRunInvocation": "8d3f0c1e2b7a4c6e9f1a2b3c4d5e6f70",
		}),
		timer("create", "hourly", "hourly", "*-*-* *:00:00", "disabled", h(time.Hour), 0, nil),
		timer("gc", "broken", "*:0/15", "*-*-* *:00/15:00", "invalid", h(14*time.Minute+30*time.Second), h(-30*time.Second), map[string]any{"StatusReason": "load-error"}),
		timer("create", "past", "2020-01-01", "2020-01-01 00:00:00", "enabled", 0, h(-3*365*24*time.Hour), nil),
		// Masked: the daemon publishes a next elapse systemd will never reach.
		timer("gc", "masked", "daily", "*-*-* 00:00:00", "invalid", h(20*time.Hour), 0, map[string]any{"Enabled": false, "StatusReason": "masked"}),
		// Edited by hand: systemd runs the old calendar until a reload.
		timer("create", "edited", "hourly", "*-*-* *:00:00", "invalid", h(30*time.Minute), h(-30*time.Minute), map[string]any{
			"Running": true, "NeedDaemonReload": true, "StatusReason": "need-reload", "LastRunResult": "success", "LastRunExitStatus": int32(0),
			"LastRunStart": h(-30 * time.Minute), "LastRunEnd": h(-30*time.Minute + 514*time.Microsecond),
		}),
	}
}

func TestGoldenList(t *testing.T) {
	for name, tc := range map[string]struct {
		tty    bool
		env    map[string]string
		states []string
		json   string
		legend bool
	}{
		"list":           {legend: true},
		"list-color":     {tty: true, legend: true},
		"list-no-color":  {tty: true, env: map[string]string{"NO_COLOR": "1"}, legend: true},
		"list-no-legend": {},
		"list-state":     {states: []string{"enabled", "invalid"}, legend: true},
		"list-empty":     {states: []string{"running"}, json: "", legend: true},
		"list-json":      {json: "short"},
		"list-json-pty":  {json: "pretty", states: []string{"running"}},
	} {
		t.Run(name, func(t *testing.T) {
			a, out, _ := testApp(t, tc.tty, tc.env)
			a.opts.states, a.opts.json, a.opts.noLegend = tc.states, tc.json, !tc.legend
			ts := fixture()
			if name == "list-empty" {
				ts = nil
			}
			if err := a.renderList(out, ts); err != nil {
				t.Fatal(err)
			}
			golden(t, name, out.Bytes())
		})
	}
}

func TestGoldenStatus(t *testing.T) {
	for name, tty := range map[string]bool{"status": false, "status-color": true} {
		t.Run(name, func(t *testing.T) {
			a, out, _ := testApp(t, tty, nil)
			if err := a.renderStatus(out, fixture()); err != nil {
				t.Fatal(err)
			}
			golden(t, name, out.Bytes())
		})
	}
	a, out, _ := testApp(t, false, nil)
	a.opts.json = "pretty"
	if err := a.writeJSON(out, timersJSON(fixture()[1:2], nil)); err != nil {
		t.Fatal(err)
	}
	golden(t, "status-json", out.Bytes())
}

func TestGoldenShow(t *testing.T) {
	for name, tc := range map[string]struct {
		props []string
		value bool
		json  string
	}{
		"show":          {},
		"show-property": {props: []string{"Status", "NextElapse", "LastTrigger", "NoSuch"}},
		"show-value":    {props: []string{"Status", "NextElapse"}, value: true},
		"show-json":     {props: []string{"Status", "NextElapse"}, json: "short"},
	} {
		t.Run(name, func(t *testing.T) {
			a, out, _ := testApp(t, false, nil)
			a.opts.props, a.opts.value, a.opts.json = tc.props, tc.value, tc.json
			if err := a.renderShow(out, fixture()[:2]); err != nil {
				t.Fatal(err)
			}
			golden(t, name, out.Bytes())
		})
	}
}

func TestGoldenCalendar(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) uint64 {
		tm, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return usec(tm)
	}
	results := []calendarResult{
		{expr: "daily", normalized: "*-*-* 00:00:00", next: []uint64{d("2026-12-01 00:00:00"), d("2026-12-02 00:00:00"), d("2026-12-03 00:00:00")}},
		{expr: "bogus", err: dbus.NewError("com.redhat.Snapm.Timers.Error.InvalidCalendar", []any{"invalid calendar expression"})},
		{expr: "*-*-* 00:00:00", normalized: "*-*-* 00:00:00", next: []uint64{d("2026-12-01 00:00:00")}},
		{expr: "2020-01-01", normalized: "2020-01-01 00:00:00"},
		{expr: "Sat *-*~07/1", normalized: "Sat *-*~07/1 00:00:00", next: []uint64{d("2023-11-25 00:00:00")}},
		// The service, in another zone, elapses an hour later; or never;
		// or rejects the caller's zone abbreviation.
		{expr: "weekly", normalized: "Mon *-*-* 00:00:00", next: []uint64{d("2026-12-07 00:00:00"), d("2026-12-14 00:00:00")},
			fired: []uint64{d("2026-12-07 01:00:00"), d("2026-12-14 01:00:00")}, firedDiffers: true},
		{expr: "2026-12-24 12:00", normalized: "2026-12-24 12:00:00", next: []uint64{d("2026-12-24 12:00:00")}, firedDiffers: true},
		{expr: "12:00 CET", normalized: "*-*-* 12:00:00 CET", next: []uint64{d("2026-12-01 11:00:00")},
			serviceErr: dbus.NewError("com.redhat.Snapm.Timers.Error.InvalidCalendar", []any{"invalid calendar expression: unknown zone"})},
	}
	for name, loc := range map[string]*time.Location{"calendar-utc": time.UTC, "calendar-berlin": berlin} {
		t.Run(name, func(t *testing.T) {
			a, out, errOut := testApp(t, false, nil)
			err := a.renderCalendar(out, results, usec(fixedNow), loc)
			if exitCode(err) != exitFailure {
				t.Errorf("exit code %d with a rejected expression, want %d as systemd-analyze", exitCode(err), exitFailure)
			}
			golden(t, name, append(out.Bytes(), append([]byte("--- stderr ---\n"), errOut.Bytes()...)...))
		})
	}
}

func TestGoldenMonitor(t *testing.T) {
	nightly := fixture()[1]
	m := &monitor{owner: ":1.5", objects: map[dbus.ObjectPath]Timer{nightly.Path: nightly}}
	added := fixture()[2]
	signals := []*dbus.Signal{
		{Sender: ":1.5", Path: rootPath, Name: objectManager + ".InterfacesAdded", Body: []any{added.Path, map[string]map[string]dbus.Variant{timerIface: added.Props}}},
		{Sender: ":1.5", Path: nightly.Path, Name: propsIface + ".PropertiesChanged", Body: []any{timerIface, map[string]dbus.Variant{
			"Status": dbus.MakeVariant("enabled"), "Running": dbus.MakeVariant(false)}, []string{}}},
		// Anyone else's signal is no change of the service's.
		{Sender: ":1.66", Path: nightly.Path, Name: propsIface + ".PropertiesChanged", Body: []any{timerIface, map[string]dbus.Variant{
			"Status": dbus.MakeVariant("invalid")}, []string{}}},
		{Sender: ":1.5", Path: nightly.Path, Name: propsIface + ".PropertiesChanged", Body: []any{timerIface, map[string]dbus.Variant{
			"NextElapse": dbus.MakeVariant(usec(fixedNow.Add(44 * time.Hour)))}, []string{}}},
		{Sender: ":1.5", Path: rootPath, Name: objectManager + ".InterfacesRemoved", Body: []any{added.Path, []string{timerIface}}},
		{Sender: "org.freedesktop.DBus", Path: "/org/freedesktop/DBus", Name: "org.freedesktop.DBus.NameOwnerChanged", Body: []any{busName, ":1.5", ""}},
	}
	for name, json := range map[string]string{"monitor": "", "monitor-json": "short"} {
		t.Run(name, func(t *testing.T) {
			a, out, _ := testApp(t, false, nil)
			a.opts.json = json
			mm := &monitor{owner: m.owner, objects: map[dbus.ObjectPath]Timer{nightly.Path: nightly}}
			for _, sig := range signals {
				for _, ev := range mm.handle(sig) {
					ev.Time = usec(fixedNow)
					if err := a.printEvent(out, ev); err != nil {
						t.Fatal(err)
					}
				}
			}
			golden(t, name, out.Bytes())
		})
	}
}

// Mistakes on the command line exit 2 with one line and a hint, before
// any bus is needed.
func TestUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown verb":       {"frobnicate"},
		"unknown option":     {"list", "--frob"},
		"option of another":  {"list", "--iterations=3"},
		"missing arguments":  {"create", "create", "x"},
		"extra arguments":    {"run-now", "x", "y"},
		"bad json":           {"list", "--json=yaml"},
		"bad state":          {"list", "--state=sleeping"},
		"bad type":           {"create", "weekly", "x", "daily"},
		"bad iterations":     {"calendar", "--iterations=0", "daily"},
		"bad base time":      {"calendar", "--base-time=yesterday-ish", "daily"},
		"value missing":      {"show", "-p"},
		"host like option":   {"-H", "-oProxyCommand=x", "list"},
		"flag with value":    {"--no-pager=1", "list"},
		"set-calendar alone": {"set-calendar", "x"},
		"schedule alone":     {"schedule"},
		"schedule unknown":   {"schedule", "frobnicate"},
		"no calendarspec":    {"schedule", "create", "x", "/", "--policy-type=all"},
		"no policy type":     {"schedule", "create", "x", "/", "-C", "daily"},
		"bad policy type":    {"schedule", "create", "x", "/", "-C", "daily", "--policy-type=often"},
		"bad keep":           {"schedule", "edit", "x", "--keep-count=many"},
		"keep of enable":     {"schedule", "enable", "x", "--keep-count=3"},
		"start of list":      {"schedule", "list", "--start"},
		"keep on timers":     {"list", "--keep-daily=3"},
		"edit nothing":       {"schedule", "edit", "x"},
	} {
		t.Run(name, func(t *testing.T) {
			a, out, errOut := testApp(t, false, nil)
			if code := a.run(context.Background(), args); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, errOut)
			}
			if out.Len() != 0 || bytes.Count(errOut.Bytes(), []byte("\n")) != 2 {
				t.Errorf("stdout %q, stderr %q; want a line and a hint on stderr alone", out, errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	a, out, _ := testApp(t, false, nil)
	if code := a.run(context.Background(), []string{"--help"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	golden(t, "help", out.Bytes())
	for _, v := range verbOrder {
		a, out, _ := testApp(t, false, nil)
		if code := a.run(context.Background(), []string{v, "--help"}); code != 0 || !bytes.HasPrefix(out.Bytes(), []byte(progName+" "+v)) {
			t.Errorf("%s --help: exit %d, %q", v, code, out)
		}
	}
}

func TestFormatRelative(t *testing.T) {
	now := usec(fixedNow)
	for want, d := range map[string]time.Duration{
		"now": 0, "500us left": 500 * time.Microsecond, "12ms ago": -12 * time.Millisecond, "59s left": 59 * time.Second,
		"1min 30s left": 90 * time.Second, "4min 59s ago": -(4*time.Minute + 59*time.Second), "5min left": 5 * time.Minute,
		"1h 0min left": time.Hour, "5h 59min ago": -(5*time.Hour + 59*time.Minute), "6h left": 6 * time.Hour,
		"24h left": 24*time.Hour + 59*time.Minute, "1 day 1h left": 25 * time.Hour, "2 days ago": -48 * time.Hour,
		"1 week 0 days left": 7 * 24 * time.Hour, "2 weeks 3 days left": 17 * 24 * time.Hour,
		"1 month 0 days left": 2629800 * time.Second, "1 year 0 months ago": -31557600 * time.Second,
		"2 years 10 months ago": -(2*31557600 + 10*2629800) * time.Second,
	} {
		if got := formatRelative(usec(fixedNow.Add(d)), now); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	if got := formatTimespan(93*usecPerSec+250*usecPerMsec, usecPerMsec); got != "1min 33s 250ms" {
		t.Errorf("formatTimespan = %q", got)
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		"@1700000000":                 "2023-11-14 22:13:20",
		"@1700000000.5":               "2023-11-14 22:13:20.5",
		"now":                         "2026-11-30 04:00:00",
		"today":                       "2026-11-30 00:00:00",
		"yesterday":                   "2026-11-29 00:00:00",
		"tomorrow":                    "2026-12-01 00:00:00",
		"2024-01-01":                  "2024-01-01 00:00:00",
		"2024-01-01 12:30":            "2024-01-01 12:30:00",
		"Mon 2024-01-01 12:30:15":     "2024-01-01 12:30:15",
		"2024-01-01 12:00 Asia/Tokyo": "2024-01-01 03:00:00",
		"2024-01-01 00:00:00 UTC":     "2024-01-01 00:00:00",
		"13:15":                       "2026-11-30 13:15:00",
		"+1h 30min":                   "2026-11-30 05:30:00",
		"-2d":                         "2026-11-28 04:00:00",
	} {
		got, err := parseTimestamp(in, fixedNow, time.UTC)
		if err != nil || got.UTC().Format("2006-01-02 15:04:05.999") != want {
			t.Errorf("%q: %v %v, want %s", in, got.UTC(), err, want)
		}
	}
	for _, bad := range []string{"", "soon", "@-1", "2024-13-01", "+", "+5 parsecs"} {
		if _, err := parseTimestamp(bad, fixedNow, time.UTC); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSSHArgs(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if got := sshArgs("admin@backup1", get); !slices.Equal(got, []string{"ssh", "-xT", "-l", "admin", "--", "backup1", "systemd-stdio-bridge"}) {
		t.Errorf("%q", got)
	}
	env["SYSTEMD_SSH"] = "/usr/local/bin/myssh"
	if got := sshArgs("backup1", get); !slices.Equal(got, []string{"/usr/local/bin/myssh", "-xT", "--", "backup1", "systemd-stdio-bridge"}) {
		t.Errorf("%q", got)
	}
}

// $SYSTEMD_COLORS decides before the terminal and $NO_COLOR, as for
// systemd's tools.
func TestSystemdColors(t *testing.T) {
	for _, tc := range []struct {
		tty    bool
		env    map[string]string
		golden string
	}{
		{false, map[string]string{"SYSTEMD_COLORS": "1"}, "list-color"},
		{false, map[string]string{"SYSTEMD_COLORS": "256", "NO_COLOR": "1"}, "list-color"},
		{true, map[string]string{"SYSTEMD_COLORS": "0"}, "list"},
		{true, map[string]string{"SYSTEMD_COLORS": "false"}, "list"},
	} {
		a, out, _ := testApp(t, tc.tty, tc.env)
		if err := a.renderList(out, fixture()); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.golden, out.Bytes())
	}
}

// Patterns match the unit, TYPE/NAME or NAME, as systemctl's match units.
func TestPatterns(t *testing.T) {
	ids := func(ts []Timer) string {
		var s []string
		for _, t := range ts {
			s = append(s, t.ID())
		}
		return strings.Join(s, " ")
	}
	for pattern, want := range map[string]string{
		"snapm-gc@*":     "gc/weekly gc/broken gc/masked",
		"snapm-*":        "gc/weekly create/nightly create/hourly gc/broken create/past gc/masked create/edited",
		"create/*ly":     "create/nightly create/hourly",
		"*ed":            "gc/masked create/edited",
		"gc/[bm]*":       "gc/broken gc/masked",
		"snapm-nosuch-*": "",
	} {
		if got := ids(matching(fixture(), []string{pattern})); got != want {
			t.Errorf("%s matches %q, want %q", pattern, got, want)
		}
	}
}

// A run under the accuracy still says how long it took, as systemd's
// format_timespan() does.
func TestTimespanBelowAccuracy(t *testing.T) {
	for d, want := range map[uint64]string{514: "514us", 1: "1us", 93 * usecPerSec: "1min 33s", 1500: "1ms"} {
		if got := formatTimespan(d, usecPerMsec); got != want {
			t.Errorf("formatTimespan(%d) = %q, want %q", d, got, want)
		}
	}
}
