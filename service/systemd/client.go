// Package systemd is the daemon's client of org.freedesktop.systemd1: the
// calls the timer domain makes, the jobs it waits for, and the signals that
// keep its view of the units current.
package systemd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unique"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/buslabel"
	"github.com/snapm/snapm-timersd/service/calendar"
	"github.com/snapm/snapm-timersd/service/coalesce"
	"github.com/snapm/snapm-timersd/service/timers"
)

const (
	busName       = "org.freedesktop.systemd1"
	managerPath   = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface  = busName + ".Manager"
	unitNamespace = "/org/freedesktop/systemd1/unit"
	unitPrefix    = unitNamespace + "/"
	propsIface    = "org.freedesktop.DBus.Properties"
)

// reloadTimeout bounds one daemon-reload, which on a big system takes seconds.
const reloadTimeout = 5 * time.Minute

// CallError is systemd refusing or failing a call.
type CallError struct {
	Method  string
	Name    string // the D-Bus error name systemd gave
	Message string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("systemd %s failed: %s: %s", e.Method, e.Name, e.Message)
}

// Is makes a CallError the domain's ErrSystemd, and its refusal of a
// masked unit the domain's ErrMasked too.
func (e *CallError) Is(target error) bool {
	return target == timers.ErrSystemd || (target == timers.ErrMasked && e.Name == "org.freedesktop.systemd1.UnitMasked")
}

// JobError is a job that ended in a result other than "done".
type JobError struct {
	Unit   string
	Type   string // start, stop
	Result string // systemd's job result: failed, canceled, timeout, dependency, ...
}

func (e *JobError) Error() string {
	return fmt.Sprintf("%s job for %s finished with result %q", e.Type, e.Unit, e.Result)
}

// Is makes a JobError the domain's ErrJobFailed.
func (e *JobError) Is(target error) bool { return target == timers.ErrJobFailed }

// Events receives what systemd signals; the timer domain implements it.
type Events interface {
	UnitChanged(unit string, seq uint64, apply func(*timers.UnitState))
	// ServiceChanged is UnitChanged for the service units the timers
	// trigger.
	ServiceChanged(unit string, seq uint64, apply func(*timers.RunState))
	// Resync says what may have changed for any unit: their state after
	// a reload, their unit files, or both with a new systemd on the bus.
	Resync(reads timers.Reads)
}

// Calendar vets the calendar expressions systemd reports before they are
// published.
type Calendar interface {
	Parse(spec string, now time.Time) (calendar.Info, error)
}

// Client talks to systemd over conn, which must have been opened with
// dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()) so that signals
// keep their order.
type Client struct {
	ctx     context.Context // the daemon's lifetime, for work no caller waits on
	conn    *dbus.Conn
	manager dbus.BusObject
	log     *zap.Logger
	jobs    jobTracker
	follow  *follower
	// Needed by: tests/bus TestReloadOnlyWhenStaleAndShared.
	reload  coalesce.Group
	files   *FileChanges
	cal     Calendar
	ev      Events
	signals chan *dbus.Signal
}

// New returns a client; call Subscribe before reading any state. files
// must be intercepting conn's incoming messages.
func New(ctx context.Context, conn *dbus.Conn, files *FileChanges, cal Calendar, log *zap.Logger) *Client {
	c := &Client{ctx: ctx, conn: conn, manager: conn.Object(busName, managerPath), files: files, cal: cal, log: log,
		follow: newFollower(conn, log)}
	c.jobs.init()
	c.reload = coalesce.Group{Ctx: ctx, Fn: c.doReload}
	return c
}

// Follow makes systemd's signals about key's timer and service reach
// Events before any call made after it returns; each Follow is undone by
// one Unfollow. Signals about other units are not even received.
func (c *Client) Follow(key timers.Key) { c.follow.follow(key) }

// Unfollow undoes one Follow of key.
func (c *Client) Unfollow(key timers.Key) { c.follow.unfollow(key) }

// UnitPath is systemd's object path for unit.
func UnitPath(unit string) dbus.ObjectPath {
	return dbus.ObjectPath(unitPrefix + buslabel.Escape(unit))
}

func (c *Client) call(ctx context.Context, method string, args ...any) (*dbus.Call, error) {
	call := c.manager.CallWithContext(ctx, managerIface+"."+method, 0, args...)
	return call, wrap(method, call.Err)
}

func wrap(method string, err error) error {
	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) {
		msg := ""
		if len(dbusErr.Body) > 0 {
			msg, _ = dbusErr.Body[0].(string)
		}
		return &CallError{Method: method, Name: dbusErr.Name, Message: msg}
	}
	if err != nil {
		return fmt.Errorf("systemd %s: %w", method, err)
	}
	return nil
}

// EnableUnit enables unit's unit file (force: replace conflicting
// symlinks, as snapm always has). It does not load the unit: systemd
// would unload it again at once, and loads it afresh from disk when it is
// started.
func (c *Client) EnableUnit(ctx context.Context, unit string) error {
	return c.files.call(func() error {
		_, err := c.call(ctx, "EnableUnitFiles", []string{unit}, false, true)
		return err
	})
}

// DisableUnit disables unit's unit file.
func (c *Client) DisableUnit(ctx context.Context, unit string) error {
	return c.files.call(func() error {
		_, err := c.call(ctx, "DisableUnitFiles", []string{unit}, false)
		return err
	})
}

// StartUnit starts unit and waits for the job's result.
func (c *Client) StartUnit(ctx context.Context, unit string) error {
	return c.runJob(ctx, "StartUnit", "start", unit)
}

// StopUnit stops unit and waits for the job's result.
func (c *Client) StopUnit(ctx context.Context, unit string) error {
	return c.runJob(ctx, "StopUnit", "stop", unit)
}

// QueueStart starts unit and returns once systemd has queued the job,
// without waiting for its result.
func (c *Client) QueueStart(ctx context.Context, unit string) error {
	_, err := c.call(ctx, "StartUnit", unit, "replace")
	return err
}

func (c *Client) runJob(ctx context.Context, method, typ, unit string) error {
	// Registered before the call: the JobRemoved signal can be handled
	// before this goroutine sees the reply that names the job.
	c.jobs.begin()
	defer c.jobs.end()
	c.follow.jobBegin()
	defer c.follow.jobEnd()
	call, err := c.call(ctx, method, unit, "replace")
	if err != nil {
		return err
	}
	var job dbus.ObjectPath
	if err := call.Store(&job); err != nil {
		return wrap(method, err)
	}
	result, err := c.jobs.wait(ctx, job)
	if err != nil {
		return fmt.Errorf("waiting for %s job of %s: %w", typ, unit, err)
	}
	if result != "done" {
		return &JobError{Unit: unit, Type: typ, Result: result}
	}
	return nil
}

// Reload asks for a daemon-reload; callers at the same time share one.
func (c *Client) Reload(ctx context.Context) error { return c.reload.Do(ctx) }

// Reloads counts the daemon-reloads this client has issued.
func (c *Client) Reloads() uint64 { return c.reload.Runs() }

func (c *Client) doReload(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, reloadTimeout)
	defer cancel()
	start := time.Now()
	// systemd answers Reload only once the reload is complete.
	_, err := c.call(ctx, "Reload")
	c.log.Info("daemon-reload", zap.Duration("took", time.Since(start)), zap.Error(err))
	return err
}

// UnitState reads systemd's view of unit without loading it, all but the
// unit file state: a loaded unit's UnitFileState property is what systemd
// computed when it first answered it, until the next daemon-reload.
func (c *Client) UnitState(ctx context.Context, unit string) (timers.UnitState, uint64, error) {
	var st timers.UnitState
	props, seq, err := c.unitProps(ctx, unit)
	c.applier(unit, props)(&st)
	return st, seq, err
}

// ServiceState reads systemd's view of a service unit without loading it.
func (c *Client) ServiceState(ctx context.Context, unit string) (timers.RunState, uint64, error) {
	var st timers.RunState
	props, seq, err := c.unitProps(ctx, unit)
	applyServiceProps(&st, props)
	return st, seq, err
}

// unitProps reads every property of a loaded unit; none (and no error) if
// systemd has not loaded it. seq orders the read against the signals.
func (c *Client) unitProps(ctx context.Context, unit string) (map[string]dbus.Variant, uint64, error) {
	call, err := c.call(ctx, "GetUnit", unit)
	var callErr *CallError
	if errors.As(err, &callErr) && callErr.Name == busName+".NoSuchUnit" {
		return nil, uint64(call.ResponseSequence), nil
	}
	if err != nil {
		return nil, 0, err
	}
	var path dbus.ObjectPath
	if err := call.Store(&path); err != nil {
		return nil, 0, wrap("GetUnit", err)
	}
	// The empty interface asks sd-bus for the Unit properties and the
	// type's (Timer, Service) at once.
	all := c.conn.Object(busName, path).CallWithContext(ctx, propsIface+".GetAll", 0, "")
	var props map[string]dbus.Variant
	if err := all.Store(&props); err != nil {
		return nil, 0, wrap("GetAll", err)
	}
	return props, uint64(all.ResponseSequence), nil
}

// LoadedUnits reads the runtime state of every loaded unit whose name
// matches one of patterns, in one call (ListUnitsByPatterns does not load
// anything); seq orders it against the signals.
func (c *Client) LoadedUnits(ctx context.Context, patterns []string) (map[string]timers.UnitState, uint64, error) {
	call, err := c.call(ctx, "ListUnitsByPatterns", []string{}, patterns)
	if err != nil {
		return nil, 0, err
	}
	var units []struct {
		Name, Description, LoadState, ActiveState, SubState, Following string
		Path                                                           dbus.ObjectPath
		JobID                                                          uint32
		JobType                                                        string
		JobPath                                                        dbus.ObjectPath
	}
	if err := call.Store(&units); err != nil {
		return nil, 0, wrap("ListUnitsByPatterns", err)
	}
	out := make(map[string]timers.UnitState, len(units))
	for _, u := range units {
		out[u.Name] = timers.UnitState{LoadState: intern(u.LoadState), ActiveState: intern(u.ActiveState), SubState: intern(u.SubState)}
	}
	return out, uint64(call.ResponseSequence), nil
}

// UnitFileState asks systemd to compute unit's unit file state from disk.
func (c *Client) UnitFileState(ctx context.Context, unit string) (string, error) {
	call, err := c.call(ctx, "GetUnitFileState", unit)
	if err != nil {
		return "", err
	}
	var state string
	if err := call.Store(&state); err != nil {
		return "", wrap("GetUnitFileState", err)
	}
	return state, nil
}

// applier returns what copies the properties we track from a GetAll or a
// PropertiesChanged of unit into a state. The calendar expressions are
// vetted here, once, and not under the domain's locks.
func (c *Client) applier(unit string, props map[string]dbus.Variant) func(*timers.UnitState) {
	v, hasCalendars := props["TimersCalendar"]
	var cals []string
	if hasCalendars {
		cals = c.calendars(unit, v)
	}
	return func(st *timers.UnitState) {
		applyProps(st, props)
		if hasCalendars {
			st.Calendars = cals
		}
	}
}

func applyProps(st *timers.UnitState, props map[string]dbus.Variant) {
	for name, v := range props {
		switch name {
		case "LoadState":
			st.LoadState = internValue(v)
		case "ActiveState":
			st.ActiveState = internValue(v)
		case "SubState":
			st.SubState = internValue(v)
		case "NeedDaemonReload":
			st.NeedDaemonReload, _ = v.Value().(bool)
		case "NextElapseUSecRealtime":
			st.NextElapse = usec(v)
		case "LastTriggerUSec":
			st.LastTrigger = usec(v)
		}
	}
}

// applyServiceProps copies the properties we track of a service unit.
func applyServiceProps(st *timers.RunState, props map[string]dbus.Variant) {
	for name, v := range props {
		switch name {
		case "LoadState":
			st.LoadState = internValue(v)
		case "ActiveState":
			st.ActiveState = internValue(v)
		case "Result":
			st.Result = internValue(v)
		case "ExecMainStatus":
			st.ExecMainStatus, _ = v.Value().(int32)
		case "ExecMainStartTimestamp":
			st.ExecMainStart = usec(v)
		case "ExecMainExitTimestamp":
			st.ExecMainExit = usec(v)
		case "InvocationID":
			st.InvocationID = invocationID(v)
		}
	}
}

// invocationID is the hex form journalctl's _SYSTEMD_INVOCATION_ID= takes;
// "" for the all-zero ID of a unit that never ran.
func invocationID(v dbus.Variant) string {
	id, _ := v.Value().([]byte)
	if len(id) != 16 || !slices.ContainsFunc(id, func(b byte) bool { return b != 0 }) {
		return ""
	}
	return hex.EncodeToString(id)
}

// usec maps systemd's "infinity" (UINT64_MAX) to our "none" (0).
func usec(v dbus.Variant) uint64 {
	u, _ := v.Value().(uint64)
	if u == ^uint64(0) {
		return 0
	}
	return u
}

// calendars returns unit's OnCalendar= expressions as systemd runs them,
// or none when one of them is not an expression our engine takes: what
// is published must be what users can read and act on.
func (c *Client) calendars(unit string, v dbus.Variant) []string {
	var entries []struct {
		Base string
		Spec string
		Next uint64
	}
	if err := dbus.Store([]any{v.Value()}, &entries); err != nil {
		c.log.Warn("systemd's TimersCalendar has an unknown shape, ignoring", zap.String("unit", unit), zap.Error(err))
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Base != "OnCalendar" {
			continue
		}
		err := calendar.CheckText(e.Spec)
		if err == nil {
			_, err = c.cal.Parse(e.Spec, time.Now())
		}
		if err != nil {
			c.log.Warn("systemd reports a calendar expression the engine rejects, ignoring",
				zap.String("unit", unit), zap.Error(err))
			return nil
		}
		out = append(out, intern(e.Spec))
	}
	return out
}

// intern returns the one copy of s that every timer shares. The strings
// godbus decodes share 4 KiB blocks with the rest of their message, so
// that one kept "loaded" keeps its block: at 10,000 timers they were a
// third of the daemon's heap. The values kept are few (states, results,
// calendar expressions), and each is kept once.
func intern(s string) string { return unique.Make(s).Value() }

// internValue is intern for a string property; "" for another type.
func internValue(v dbus.Variant) string {
	s, _ := v.Value().(string)
	return intern(s)
}

// unitFromPath reverses UnitPath; systemd's bus_label_unescape.
func unitFromPath(path dbus.ObjectPath) (string, bool) {
	label, ok := strings.CutPrefix(string(path), unitPrefix)
	if !ok || strings.Contains(label, "/") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		if label[i] != '_' {
			b.WriteByte(label[i])
			continue
		}
		if i+2 >= len(label) {
			return "", false
		}
		x, err := strconv.ParseUint(label[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(x))
		i += 2
	}
	return b.String(), true
}
