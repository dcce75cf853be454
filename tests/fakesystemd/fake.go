// Package fakesystemd is a stand-in for org.freedesktop.systemd1 on a
// private bus, for the faults a real systemd will not produce on demand:
// failing calls, failed or stuck jobs, failed reloads. It keeps just the
// state the daemon reads, and derives it from the drop-ins on disk the way
// systemd does. It is never a substitute for the real-systemd tests.
package fakesystemd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/systemd"
)

const (
	busName      = "org.freedesktop.systemd1"
	managerPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface = busName + ".Manager"
	unitRoot     = dbus.ObjectPath("/org/freedesktop/systemd1/unit")
)

// Job outcomes a test can ask for.
const (
	// Hang never finishes the job.
	Hang = "hang"
)

type unit struct {
	loaded      bool
	active      bool
	enabled     bool
	loadedMtime time.Time
	calendars   []string
}

// Fake is a running fake systemd1.
type Fake struct {
	address  string
	unitDir  string
	calendar calendar.Engine

	mu     sync.Mutex
	conn   *dbus.Conn
	units  map[string]*unit
	paths  map[dbus.ObjectPath]string
	fail   map[string]string // method -> D-Bus error name
	result map[string]string // StartUnit/StopUnit -> job result
	hang   map[string]bool   // method + unit whose jobs wait for Release
	held   map[string][]heldJob
	jobID  uint32
	calls  map[string]int
	// gates hold the calls of a method (Reload, ListUnitsByPatterns)
	// until closed.
	gates map[string]chan struct{}
}

// Start claims org.freedesktop.systemd1 on the bus at address.
func Start(address, unitDir string) (*Fake, error) {
	host, err := calendar.HostZone()
	if err != nil {
		return nil, err
	}
	f := &Fake{address: address, unitDir: unitDir, calendar: calendar.Engine{Host: host}, units: map[string]*unit{}, paths: map[dbus.ObjectPath]string{},
		fail: map[string]string{}, result: map[string]string{}, hang: map[string]bool{}, held: map[string][]heldJob{}, calls: map[string]int{},
		gates: map[string]chan struct{}{}}
	if err := f.claim(); err != nil {
		return nil, err
	}
	return f, nil
}

// claim connects, serves the manager and the units, and takes the name.
func (f *Fake) claim() error {
	conn, err := dbus.Connect(f.address)
	if err != nil {
		return err
	}
	if err := conn.Export(manager{f}, managerPath, managerIface); err != nil {
		conn.Close()
		return err
	}
	if err := conn.ExportSubtree(unitProps{f}, unitRoot, "org.freedesktop.DBus.Properties"); err != nil {
		conn.Close()
		return err
	}
	reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return fmt.Errorf("claiming %s: %v (reply %d)", busName, err, reply)
	}
	f.mu.Lock()
	f.conn = conn
	f.mu.Unlock()
	return nil
}

// Close leaves the bus.
func (f *Fake) Close() error { return f.bus().Close() }

// Reexec leaves the bus and comes back under a new unique name, as
// systemd does on daemon-reexec: its subscribers are forgotten, the units
// kept.
func (f *Fake) Reexec() error {
	// Released first: the bus frees the name of a closed connection only
	// once it has seen it go, and the new claim must not race that.
	if _, err := f.bus().ReleaseName(busName); err != nil {
		return err
	}
	if err := f.bus().Close(); err != nil {
		return err
	}
	return f.claim()
}

func (f *Fake) bus() *dbus.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conn
}

// Fail makes every later call of method fail with the D-Bus error name.
func (f *Fake) Fail(method, errName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = errName
}

// Heal makes method work again.
func (f *Fake) Heal(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.fail, method)
}

// SetActive changes unit behind the daemon's back, as if its signal had
// been lost: only a read can see it.
func (f *Fake) SetActive(name string, active bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unit(name).active = active
}

// JobResult makes jobs of method (StartUnit, StopUnit) end with result, or
// never end with Hang.
func (f *Fake) JobResult(method, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.result[method] = result
}

type heldJob struct {
	id   uint32
	path dbus.ObjectPath
}

// HangUnit makes jobs of method (StartUnit, StopUnit) on unit wait until
// Release.
func (f *Fake) HangUnit(method, unit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang[method+" "+unit] = true
}

// Release ends the held jobs of method on unit with result "done".
func (f *Fake) Release(method, unit string) {
	f.mu.Lock()
	jobs := f.held[method+" "+unit]
	delete(f.held, method+" "+unit)
	delete(f.hang, method+" "+unit)
	f.unit(unit).active = method == "StartUnit"
	f.mu.Unlock()
	for _, j := range jobs {
		f.bus().Emit(managerPath, managerIface+".JobRemoved", j.id, j.path, unit, "done")
	}
}

// Hold makes calls of method (Reload, ListUnitsByPatterns) wait until
// Let.
func (f *Fake) Hold(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gates[method] = make(chan struct{})
}

// Let lets the held calls of method, and every later one, go on.
func (f *Fake) Let(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.gates[method])
	delete(f.gates, method)
}

// gate waits while calls of method are held.
func (f *Fake) gate(method string) {
	f.mu.Lock()
	held := f.gates[method]
	f.mu.Unlock()
	if held != nil {
		<-held
	}
}

// Calls counts the calls of method so far.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// Load loads unit as a client such as `systemctl status` would, so that a
// later change of its drop-in needs a daemon-reload.
func (f *Fake) Load(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loadLocked(name)
}

// Active reports whether unit is active.
func (f *Fake) Active(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.units[name]
	return u != nil && u.active
}

// Enabled reports whether unit's unit file is enabled.
func (f *Fake) Enabled(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.units[name]
	return u != nil && u.enabled
}

func (f *Fake) unit(name string) *unit {
	u := f.units[name]
	if u == nil {
		u = &unit{}
		f.units[name] = u
		f.paths[systemd.UnitPath(name)] = name
	}
	return u
}

// loadLocked reads the unit's drop-in as systemd would on load or reload.
func (f *Fake) loadLocked(name string) {
	u := f.unit(name)
	u.loaded = true
	u.calendars = []string{"*-*-* 00:00:00"} // the template's OnCalendar=daily
	u.loadedMtime = time.Time{}
	if st, err := os.Stat(dropin.Path(f.unitDir, name)); err == nil {
		u.loadedMtime = st.ModTime()
		entries, _ := dropin.Scan(f.unitDir, name)
		for _, e := range entries {
			if e.Unit == name {
				info, err := f.calendar.Parse(e.Spec, time.Now())
				if err == nil {
					u.calendars = []string{info.Normalized}
				}
			}
		}
	}
}

func (f *Fake) needReload(name string) bool {
	u := f.units[name]
	var mtime time.Time
	if st, err := os.Stat(dropin.Path(f.unitDir, name)); err == nil {
		mtime = st.ModTime()
	}
	return !mtime.Equal(u.loadedMtime)
}

// begin counts a call and returns the error it was told to fail with.
func (f *Fake) begin(method string) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if name, ok := f.fail[method]; ok {
		return dbus.NewError(name, []any{"injected failure of " + method})
	}
	return nil
}

func (f *Fake) props(name string) map[string]dbus.Variant {
	u := f.units[name]
	state, sub := "inactive", "dead"
	next := ^uint64(0)
	if u.active {
		state, sub = "active", "waiting"
		next = uint64(time.Now().Add(time.Hour).UnixMicro())
	}
	fileState := "disabled"
	if u.enabled {
		fileState = "enabled"
	}
	type calendarTimer struct {
		Base, Spec string
		Next       uint64
	}
	var cals []calendarTimer
	for _, c := range u.calendars {
		cals = append(cals, calendarTimer{"OnCalendar", c, 0})
	}
	return map[string]dbus.Variant{
		"LoadState":              dbus.MakeVariant("loaded"),
		"ActiveState":            dbus.MakeVariant(state),
		"SubState":               dbus.MakeVariant(sub),
		"UnitFileState":          dbus.MakeVariant(fileState),
		"NeedDaemonReload":       dbus.MakeVariant(f.needReload(name)),
		"NextElapseUSecRealtime": dbus.MakeVariant(next),
		"LastTriggerUSec":        dbus.MakeVariant(uint64(0)),
		"TimersCalendar":         dbus.MakeVariant(cals),
	}
}

// manager implements org.freedesktop.systemd1.Manager, as far as used.
type manager struct{ f *Fake }

func (m manager) Subscribe() *dbus.Error { return m.f.begin("Subscribe") }

type listedUnit struct {
	Name, Description, LoadState, ActiveState, SubState, Following string
	Path                                                           dbus.ObjectPath
	JobID                                                          uint32
	JobType                                                        string
	JobPath                                                        dbus.ObjectPath
}

func (m manager) ListUnitsByPatterns(states, patterns []string) ([]listedUnit, *dbus.Error) {
	if err := m.f.begin("ListUnitsByPatterns"); err != nil {
		return nil, err
	}
	m.f.gate("ListUnitsByPatterns")
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	var out []listedUnit
	for name, u := range m.f.units {
		if !u.loaded || !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, name); return ok }) {
			continue
		}
		props := m.f.props(name)
		out = append(out, listedUnit{Name: name, LoadState: "loaded", ActiveState: props["ActiveState"].Value().(string),
			SubState: props["SubState"].Value().(string), Path: systemd.UnitPath(name), JobPath: "/"})
	}
	return out, nil
}

func (m manager) GetUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	if err := m.f.begin("GetUnit"); err != nil {
		return "", err
	}
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	if u := m.f.units[name]; u == nil || !u.loaded {
		return "", dbus.NewError(busName+".NoSuchUnit", []any{"Unit " + name + " not loaded."})
	}
	return systemd.UnitPath(name), nil
}

func (m manager) GetUnitFileState(name string) (string, *dbus.Error) {
	if err := m.f.begin("GetUnitFileState"); err != nil {
		return "", err
	}
	if m.f.Enabled(name) {
		return "enabled", nil
	}
	return "disabled", nil
}

type change struct{ Type, File, Dest string }

// setEnabled links or unlinks the units in timers.target.wants, as
// systemd does for our templates' WantedBy=timers.target, so that what
// the daemon reads from the disk agrees with what the fake answers.
func (m manager) setEnabled(method string, names []string, enabled bool) ([]change, *dbus.Error) {
	if err := m.f.begin(method); err != nil {
		return nil, err
	}
	wants := filepath.Join(m.f.unitDir, "timers.target.wants")
	m.f.mu.Lock()
	var changes []change
	for _, n := range names {
		link := filepath.Join(wants, n)
		at, dot := strings.Index(n, "@"), strings.LastIndex(n, ".")
		target := filepath.Join(m.f.unitDir, n[:at+1]+n[dot:])
		var err error
		if enabled {
			if err = os.MkdirAll(wants, 0o755); err == nil {
				err = os.Symlink(target, link)
			}
		} else {
			err = os.Remove(link)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, fs.ErrNotExist) {
			m.f.mu.Unlock()
			return nil, dbus.NewError("org.freedesktop.DBus.Error.IOError", []any{err.Error()})
		}
		m.f.unit(n).enabled = enabled
		changes = append(changes, change{"symlink", link, target})
	}
	m.f.mu.Unlock()
	m.f.bus().Emit(managerPath, managerIface+".UnitFilesChanged")
	return changes, nil
}

func (m manager) EnableUnitFiles(names []string, runtime, force bool) (bool, []change, *dbus.Error) {
	changes, err := m.setEnabled("EnableUnitFiles", names, true)
	return true, changes, err
}

func (m manager) DisableUnitFiles(names []string, runtime bool) ([]change, *dbus.Error) {
	return m.setEnabled("DisableUnitFiles", names, false)
}

func (m manager) Reload() *dbus.Error {
	if err := m.f.begin("Reload"); err != nil {
		return err
	}
	m.f.gate("Reload")
	m.f.bus().Emit(managerPath, managerIface+".Reloading", true)
	m.f.mu.Lock()
	for name, u := range m.f.units {
		switch {
		case u.loaded && !u.active && !u.enabled:
			// Nothing holds it any more: systemd's garbage collection
			// unloads it.
			u.loaded = false
		case u.loaded:
			m.f.loadLocked(name)
		}
	}
	m.f.mu.Unlock()
	m.f.bus().Emit(managerPath, managerIface+".Reloading", false)
	return nil
}

func (m manager) StartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return m.job("StartUnit", name, true)
}

func (m manager) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return m.job("StopUnit", name, false)
}

// job changes the unit, then reports the job's end. The JobRemoved signal
// goes out before the reply, the harshest order a client can meet.
func (m manager) job(method, name string, start bool) (dbus.ObjectPath, *dbus.Error) {
	if err := m.f.begin(method); err != nil {
		return "", err
	}
	f := m.f
	f.mu.Lock()
	f.jobID++
	id := f.jobID
	job := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", id))
	result := f.result[method]
	if result == "" {
		result = "done"
	}
	if f.hang[method+" "+name] {
		result = Hang
		f.held[method+" "+name] = append(f.held[method+" "+name], heldJob{id, job})
	}
	u := f.unit(name)
	if !u.loaded {
		f.loadLocked(name)
	}
	changed := result == "done" && u.active != start
	if result == "done" {
		u.active = start
	}
	props := f.props(name)
	f.mu.Unlock()
	if changed {
		f.bus().Emit(systemd.UnitPath(name), "org.freedesktop.DBus.Properties.PropertiesChanged", busName+".Unit",
			map[string]dbus.Variant{"ActiveState": props["ActiveState"], "SubState": props["SubState"]}, []string{})
	}
	if result != Hang {
		f.bus().Emit(managerPath, managerIface+".JobRemoved", id, job, name, result)
	}
	return job, nil
}

// unitProps serves org.freedesktop.DBus.Properties of every unit.
type unitProps struct{ f *Fake }

func (p unitProps) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	if err := p.f.begin("GetAll"); err != nil {
		return nil, err
	}
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	name, ok := p.f.paths[path]
	if !ok {
		return nil, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{string(path)})
	}
	return p.f.props(name), nil
}
