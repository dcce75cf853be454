// One fresh timer: each call's latency beside the floors measured in the
// same run, and how soon the daemon mirrors a flip someone else causes.

package main

import (
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// oneTimer: the life of one fresh timer, step by step, beside the floors.
func oneTimer(e *env, r *report, samples int) error {
	steps := []string{"Enable", "Start", "Status read", "Stop", "Disable"}
	d := map[string][]time.Duration{}
	bus := e.conn.BusObject()
	sd := e.conn.Object(sdName, sdPath)
	daemon := e.conn.Object(busName, rootPath)
	for i := 0; i < samples; i++ {
		var path dbus.ObjectPath
		took, err := timed(func() (err error) {
			path, err = e.create("create", fmt.Sprintf("one%d", i), "hourly")
			return err
		})
		if err != nil {
			return err
		}
		d["CreateTimer"] = append(d["CreateTimer"], took)
		floors := []struct {
			name string
			fn   func() error
		}{
			{"bus floor: GetId", func() error { return bus.Call("org.freedesktop.DBus.GetId", 0).Err }},
			{"service floor: Peer.Ping to the daemon", func() error { return daemon.Call("org.freedesktop.DBus.Peer.Ping", 0).Err }},
			{"systemd property Get", func() error { _, err := sd.GetProperty(sdManager + ".Version"); return err }},
		}
		for _, f := range floors {
			took, err := timed(f.fn)
			if err != nil {
				return err
			}
			d[f.name] = append(d[f.name], took)
		}
		for _, step := range steps {
			took, err := timed(func() error {
				if step == "Status read" {
					_, err := e.conn.Object(busName, path).GetProperty(timerIf + ".Status")
					return err
				}
				return e.must(path, timerIf+"."+step)
			})
			if err != nil {
				return err
			}
			d[step] = append(d[step], took)
		}
		if err := e.must(rootPath, managerIf+".RemoveTimer", path); err != nil {
			return err
		}
	}
	floor := median(d["bus floor: GetId"])
	for _, name := range []string{"bus floor: GetId", "service floor: Peer.Ping to the daemon", "systemd property Get"} {
		r.add(row{Section: "Baselines", Name: name, Samples: d[name], Baseline: floor})
	}
	r.add(row{Section: "One fresh timer", Name: "Status read (property Get)", Samples: d["Status read"], Baseline: floor,
		Target: "<= 1.5x bus floor", Met: ratio(median(d["Status read"]), floor) <= 1.5})
	for _, step := range []string{"CreateTimer", "Enable", "Start", "Stop", "Disable"} {
		r.add(row{Section: "One fresh timer", Name: step, Samples: d[step], Baseline: floor})
	}
	if err := outsideFlips(e, r, samples, floor); err != nil {
		return err
	}
	return previewFlood(e, r, samples, floor)
}

// outsideFlips: systemd stops and starts a running timer for someone
// else; how long until the daemon's PropertiesChanged says so.
func outsideFlips(e *env, r *report, samples int, floor time.Duration) error {
	path, err := e.create("gc", "flipped", "hourly")
	if err != nil {
		return err
	}
	if err := e.must(path, timerIf+".Enable"); err != nil {
		return err
	}
	if err := e.must(path, timerIf+".Start"); err != nil {
		return err
	}
	// Another client of systemd: the admin's systemctl, without the cost
	// of starting a process.
	admin, err := connect(e.ns)
	if err != nil {
		return err
	}
	defer admin.Close()
	sd := admin.Object(sdName, sdPath)
	if err := e.conn.AddMatchSignal(dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(path),
		dbus.WithMatchMember("PropertiesChanged")); err != nil {
		return err
	}
	ch := make(chan *dbus.Signal, 64)
	e.conn.Signal(ch)
	defer e.conn.RemoveSignal(ch)
	var lat []time.Duration
	for i := 0; i < samples; i++ {
		for _, flip := range []struct {
			method  string
			running bool
		}{{"StopUnit", false}, {"StartUnit", true}} {
			start := time.Now()
			if err := sd.Call(sdManager+"."+flip.method, 0, "snapm-gc@flipped.timer", "replace").Err; err != nil {
				return err
			}
			if err := waitRunning(ch, flip.running); err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
		}
	}
	r.add(row{Section: "One fresh timer", Name: "outside StopUnit/StartUnit -> PropertiesChanged(Running)", Samples: lat,
		Baseline: floor, Target: "p99 < 50 ms", Met: percentile(lat, 99) < 50*time.Millisecond})
	return nil
}

func waitRunning(ch <-chan *dbus.Signal, running bool) error {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case sig := <-ch:
			if len(sig.Body) < 2 {
				continue
			}
			changed, _ := sig.Body[1].(map[string]dbus.Variant)
			if v, ok := changed["Running"]; ok && v.Value() == running {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("no PropertiesChanged with Running=%t within 10s", running)
		}
	}
}
