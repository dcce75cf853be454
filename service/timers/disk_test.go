// Tests of what the manager makes of the disk: the drop-ins and state
// records adopted at start, and the changes the watch of the unit directory
// reports, busy timers included.

package timers

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/schedule"
)

// TestDiskChangedHandsBackBusyTimers: the watch of the unit directory
// does not wait on a timer in an operation either; it is handed back, to
// be reported again.
func TestDiskChangedHandsBackBusyTimers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	busy := mustCreate(t, e, "create", "busy", "hourly")
	bt, _ := e.m.timer(busy.Key)
	unlock, err := bt.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dropin.Write(e.unitDir, busy.Unit(), "daily"); err != nil {
		t.Fatal(err)
	}
	later := e.m.DiskChanged(ctx, []string{busy.Unit(), "snapm-gc@absent.timer"})
	if !reflect.DeepEqual(later, []string{busy.Unit()}) {
		t.Errorf("handed back %q, want only the busy timer's unit", later)
	}
	unlock()
	if later := e.m.DiskChanged(ctx, later); len(later) != 0 {
		t.Errorf("handed back %q once free", later)
	}
	e.settle() // a drop-in without enablement, as snapm's enable begins
	if s := bt.Snapshot(); s.Spec != "daily" {
		t.Errorf("busy timer's hand edit not read once free: %+v", s)
	}
}

func TestAdoptOddFiles(t *testing.T) {
	t.Parallel()
	const (
		snapmDropIn = "[Timer]\n# Reset the OnCalendar list\nOnCalendar=\n# Configure OnCalendar for this template instance.\nOnCalendar=%s\n"
		unitDir     = "unit"
		stateDir    = "state"
		schedDir    = "schedule"
	)
	dropIn := func(spec string) string { return strings.Replace(snapmDropIn, "%s", spec, 1) }
	record := func(typ, name, spec string) string {
		return `{"type":"` + typ + `","name":"` + name + `","calendarspec":"` + spec + `"}`
	}
	sched := func(name, spec string) string {
		s, err := schedule.New(name, []string{"/"}, spec, schedule.Options{"policy_type": "all"})
		if err != nil {
			t.Fatal(err)
		}
		return string(s.Marshal())
	}
	for name, tc := range map[string]struct {
		// files maps "unit/REL" or "state/REL" to content.
		files map[string]string
	}{
		"a drop-in as snapm writes it": {files: map[string]string{
			"unit/snapm-create@py.timer.d/10-oncalendar.conf": dropIn("Sat,Sun 08:05:40"),
		}},
		"a state record and the schedule: created, never enabled": {files: map[string]string{
			"state/timers/snapm-gc@rec.timer": record("gc", "rec", "weekly"),
			"schedule/rec.json":               sched("rec", "weekly"),
		}},
		"a state record of which nothing else is left is not brought back": {files: map[string]string{
			"state/timers/snapm-gc@rec.timer": record("gc", "rec", "weekly"),
		}},
		"a drop-in and a record that disagree: the drop-in wins": {files: map[string]string{
			"unit/snapm-gc@both.timer.d/10-oncalendar.conf": dropIn("hourly"),
			"state/timers/snapm-gc@both.timer":              record("gc", "both", "daily"),
		}},
		"an expression our engine refuses is kept and shown invalid": {files: map[string]string{
			"unit/snapm-create@bad.timer.d/10-oncalendar.conf": dropIn("25:00"),
		}},
		"units that are not ours, or names we would refuse, are left alone": {files: map[string]string{
			"unit/other@x.timer.d/10-oncalendar.conf":            dropIn("daily"),
			"unit/snapm-create@a%20b.timer.d/10-oncalendar.conf": dropIn("daily"),
			"unit/snapm-create@ok.timer.d/20-accuracy.conf":      "[Timer]\nAccuracySec=1us\n",
			"unit/snapm-create@ok.timer.d/10-oncalendar.conf":    dropIn("minutely"),
		}},
		"a temporary file left by a crash in the state directory": {files: map[string]string{
			"state/timers/.snapm-timersd-123": "{",
			"state/timers/snapm-gc@rec.timer": record("gc", "rec", "weekly"),
			"schedule/rec.json":               sched("rec", "weekly"),
		}},
		"a drop-in that only resets OnCalendar=": {files: map[string]string{
			"unit/snapm-create@reset.timer.d/10-oncalendar.conf": "[Timer]\nOnCalendar=\n",
			"unit/snapm-create@fine.timer.d/10-oncalendar.conf":  dropIn("daily"),
		}},
		"an empty state record": {files: map[string]string{
			"state/timers/snapm-gc@empty.timer": "",
			"state/timers/snapm-gc@rec.timer":   record("gc", "rec", "weekly"),
			"schedule/rec.json":                 sched("rec", "weekly"),
		}},
		"a corrupt state record": {files: map[string]string{
			"state/timers/snapm-gc@corrupt.timer": `{"type":"gc","na`,
			"state/timers/snapm-gc@rec.timer":     record("gc", "rec", "weekly"),
			"schedule/rec.json":                   sched("rec", "weekly"),
		}},
		"a drop-in with a line longer than 64 KiB": {files: map[string]string{
			"unit/snapm-create@long.timer.d/10-oncalendar.conf": "[Timer]\n#" + strings.Repeat("x", 70000) + "\nOnCalendar=daily\n",
			"unit/snapm-create@fine.timer.d/10-oncalendar.conf": dropIn("daily"),
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env) {
				for _, rel := range sortedKeys(tc.files) {
					where, file, _ := strings.Cut(rel, "/")
					dir := map[string]string{unitDir: e.unitDir, stateDir: e.state, schedDir: e.schedules}[where]
					e.write(t, dir, file, tc.files[rel])
				}
			})
			if err := e.m.Adopt(context.Background()); err != nil {
				t.Fatalf("Adopt: %v", err)
			}
			golden(t, "adopt/"+fileName(name), e.m.List())
			// Every timer adopted is kept for the next start, and only those.
			for _, rec := range []string{"snapm-gc@rec.timer", "snapm-create@py.timer"} {
				key, _ := ParseUnit(rec)
				_, err := e.m.Get(string(key.Type), key.Name)
				_, recErr := os.Stat(filepath.Join(e.state, recordDir, rec))
				if (err == nil) != (recErr == nil) {
					t.Errorf("%s: adopted %v, but its record: %v", rec, err == nil, recErr)
				}
			}
		})
	}
}

// TestDiskChanged: what the watch of the unit directory reports reaches
// the timers: edits, removals, new drop-ins (a new timer, announced once
// read), and nothing but a file read for our own writes. Each case starts
// from "create@w" (hourly) enabled and running, and compares what the
// Observer heard and what systemd was asked with
// testdata/diskchanged/CASE.json.
func TestDiskChanged(t *testing.T) {
	t.Parallel()
	const w = "snapm-create@w.timer"
	edit := func(spec string) func(t *testing.T, e *env) {
		return func(t *testing.T, e *env) {
			if err := dropin.Write(e.unitDir, w, spec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, tc := range map[string]struct {
		change func(t *testing.T, e *env)
		units  []string // reported; nil: anything may have changed
	}{
		"our own write comes back": {
			change: func(*testing.T, *env) {}, units: []string{w},
		},
		"the drop-in edited by hand: the disk's schedule and a reload needed": {
			change: edit("minutely"), units: []string{w},
		},
		"the UNIT.d deleted by hand": {
			change: func(t *testing.T, e *env) { os.RemoveAll(dropin.Dir(e.unitDir, w)) }, units: []string{w},
		},
		"a new drop-in becomes a timer": {
			change: func(t *testing.T, e *env) {
				if err := dropin.Write(e.unitDir, "snapm-gc@new.timer", "weekly"); err != nil {
					t.Fatal(err)
				}
			},
			units: []string{"snapm-gc@new.timer"},
		},
		"a UNIT.d without our drop-in is no timer": {
			change: func(t *testing.T, e *env) {
				e.write(t, e.unitDir, "snapm-gc@other.timer.d/20-accuracy.conf", "[Timer]\nAccuracySec=1us\n")
			},
			units: []string{"snapm-gc@other.timer"},
		},
		"events lost: every drop-in read": {
			change: func(t *testing.T, e *env) {
				edit("minutely")(t, e)
				if err := dropin.Write(e.unitDir, "snapm-gc@new.timer", "weekly"); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			s := mustCreate(t, e, "create", "w", "hourly")
			for _, op := range []func(context.Context, Key) (Snapshot, error){e.m.Enable, e.m.Start} {
				if _, err := op(ctx, s.Key); err != nil {
					t.Fatal(err)
				}
			}
			e.obs.take()
			e.sd.calls.take()
			tc.change(t, e)
			e.m.DiskChanged(ctx, tc.units)
			e.settle()
			golden(t, "diskchanged/"+fileName(name), struct {
				Events []event
				Calls  []string
			}{e.obs.take(), e.sd.calls.take()})
		})
	}
}
