// The systemd-alone baselines: the same work asked of systemd directly, on
// units of a twin template the daemon leaves alone, so that the daemon's
// cost can be told from systemd's.

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/tests/sysns"
)

// systemdAloneBoth is systemdAlone for 20 timers on the template alone and
// for 20 that each get their drop-in first (not timed), as the daemon's
// timers do: a new directory in /etc/systemd/system makes systemd re-read
// its unit directories at the next load.
func systemdAloneBoth(e *env, tag string) (plain, withDropIns []time.Duration, err error) {
	if plain, err = systemdAlone(e, tag, 20); err != nil {
		return nil, nil, err
	}
	withDropIns, err = timeSystemdAlone(e, tag+"-d", 20, func(unit string) error {
		return dropin.Write(e.ns.UnitDirPath(), unit, "daily")
	})
	return plain, withDropIns, err
}

// aloneUnit is a unit of the twin template (see installTwin), which the
// daemon does not manage.
func aloneUnit(tag string, i int) string { return fmt.Sprintf("%s@%s-%d.timer", twin, tag, i) }

// twin is a copy of snapm-gc@.timer and .service under a name the daemon
// leaves alone: systemd does the same work for its instances, and the
// daemon does none, where on snapm units it would mirror what the baseline
// does behind its back (adopting the new drop-ins, reading the states) and
// bill that to whichever side runs next.
const twin = "bench-alone"

func installTwin(e *env) error {
	for _, suffix := range []string{".timer", ".service"} {
		data, err := os.ReadFile(filepath.Join(sysns.RepoRoot(), "systemd", "snapm-gc@"+suffix))
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte("snapm-gc@"), []byte(twin+"@"))
		if err := os.WriteFile(e.ns.UnitDirPath(twin+"@"+suffix), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// systemdAlone times what enabling and starting a fresh timer costs
// systemd itself, asked directly (the template's own OnCalendar=), so
// that the daemon's cost can be told from systemd's.
func systemdAlone(e *env, tag string, count int) ([]time.Duration, error) {
	return timeSystemdAlone(e, tag, count, func(string) error { return nil })
}

// timeSystemdAlone times count fresh timers, each after prepare (untimed).
func timeSystemdAlone(e *env, tag string, count int, prepare func(unit string) error) ([]time.Duration, error) {
	sd, err := newDirect(e)
	if err != nil {
		return nil, err
	}
	defer sd.close()
	var d []time.Duration
	for i := 0; i < count; i++ {
		unit := aloneUnit(tag, i)
		if err := prepare(unit); err != nil {
			return nil, err
		}
		took, err := sd.enableStart(unit)
		if err != nil {
			return nil, err
		}
		d = append(d, took)
	}
	return d, nil
}

// direct is a client of systemd itself, subscribed to its job results.
type direct struct {
	conn *dbus.Conn
	sd   dbus.BusObject
	ch   chan *dbus.Signal
	done map[dbus.ObjectPath]bool
}

func newDirect(e *env) (*direct, error) {
	conn, err := connect(e.ns)
	if err != nil {
		return nil, err
	}
	d := &direct{conn: conn, sd: conn.Object(sdName, sdPath), ch: make(chan *dbus.Signal, 256), done: map[dbus.ObjectPath]bool{}}
	if err := conn.AddMatchSignal(dbus.WithMatchSender(sdName), dbus.WithMatchMember("JobRemoved")); err != nil {
		conn.Close()
		return nil, err
	}
	conn.Signal(d.ch)
	if err := d.sd.Call(sdManager+".Subscribe", 0).Err; err != nil {
		conn.Close()
		return nil, err
	}
	return d, nil
}

func (d *direct) close() { d.conn.Close() }

// enableStart times EnableUnitFiles + StartUnit of unit, to the end of
// the start job.
func (d *direct) enableStart(unit string) (time.Duration, error) {
	start := time.Now()
	if err := d.sd.Call(sdManager+".EnableUnitFiles", 0, []string{unit}, false, true).Err; err != nil {
		return 0, err
	}
	var job dbus.ObjectPath
	if err := d.sd.Call(sdManager+".StartUnit", 0, unit, "replace").Store(&job); err != nil {
		return 0, err
	}
	for !d.done[job] {
		select {
		case sig := <-d.ch:
			if p, ok := sig.Body[1].(dbus.ObjectPath); ok && sig.Name == sdManager+".JobRemoved" {
				d.done[p] = true
			}
		case <-time.After(30 * time.Second):
			return 0, fmt.Errorf("no JobRemoved for %s", unit)
		}
	}
	return time.Since(start), nil
}

// settle is long enough for the daemon to finish reading every timer's
// unit files after an outside change, at 1,000 timers on two busy cores.
const settle = 150 * time.Millisecond

// sideBySide times, in turns, CreateTimer+Enable+Start of a fresh timer
// through the daemon, the same in one CreateTimerWithFlags(ENABLE|START)
// call, and for each EnableUnitFiles+StartUnit of a fresh timer whose
// drop-in was written beforehand (untimed) asked of systemd directly: the
// daemon's overhead is the difference of each pair, so that a busy moment
// weighs on both sides alike.
func sideBySide(e *env, r *report, section string, pairs int) error {
	sd, err := newDirect(e)
	if err != nil {
		return err
	}
	defer sd.close()
	var daemon, alone, overhead []time.Duration
	var creates, enables, starts []time.Duration
	var oneCall, oneCallAlone, oneCallOverhead []time.Duration
	for i := 0; i < pairs; i++ {
		var path dbus.ObjectPath
		c, err := timed(func() (err error) { path, err = e.create("gc", fmt.Sprintf("fresh%d", i), "daily"); return err })
		if err != nil {
			return err
		}
		en, err := timed(func() error { return e.must(path, timerIf+".Enable") })
		if err != nil {
			return err
		}
		st, err := timed(func() error { return e.must(path, timerIf+".Start") })
		if err != nil {
			return err
		}
		took := c + en + st
		creates, enables, starts = append(creates, c), append(enables, en), append(starts, st)
		direct, err := sd.freshAlone(e, "pair", i)
		if err != nil {
			return err
		}
		daemon, alone, overhead = append(daemon, took), append(alone, direct), append(overhead, took-direct)

		one, err := timed(func() error {
			_, err := e.createWithFlags("gc", fmt.Sprintf("onecall%d", i), "daily", flagEnable|flagStart)
			return err
		})
		if err != nil {
			return err
		}
		if direct, err = sd.freshAlone(e, "onecall", i); err != nil {
			return err
		}
		oneCall, oneCallAlone, oneCallOverhead = append(oneCall, one), append(oneCallAlone, direct), append(oneCallOverhead, one-direct)
	}
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon", Samples: daemon})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its CreateTimer", Samples: creates})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its Enable", Samples: enables})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon, its Start", Samples: starts})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: systemd alone (EnableUnitFiles+StartUnit, drop-in written before)", Samples: alone})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer: daemon vs systemd alone (median of the pairs' differences)",
		Samples: overhead, Target: "<= 1.5 ms", Met: median(overhead) <= 1500*time.Microsecond})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer, one call (CreateTimerWithFlags): daemon", Samples: oneCall})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer, one call: systemd alone, its pair", Samples: oneCallAlone})
	r.add(row{Section: section, Name: "create+enable+start of a fresh timer, one call: daemon vs systemd alone (median of the pairs' differences)",
		Samples: oneCallOverhead, Target: "<= 1.5 ms", Met: median(oneCallOverhead) <= 1500*time.Microsecond})
	return nil
}

// freshAlone times systemd alone on a fresh unit whose drop-in is written
// first (untimed), then lets the daemon settle: the EnableUnitFiles is
// someone else's change of unit files to the daemon, which reads every
// timer's unit files for it (timed on its own in the row "outside change
// of unit files"), and would otherwise slow the daemon's next turn.
func (d *direct) freshAlone(e *env, tag string, i int) (time.Duration, error) {
	unit := aloneUnit(tag, i)
	if err := dropin.Write(e.ns.UnitDirPath(), unit, "daily"); err != nil {
		return 0, err
	}
	took, err := d.enableStart(unit)
	if err != nil {
		return 0, err
	}
	time.Sleep(settle)
	return took, nil
}
