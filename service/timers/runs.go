// The last run of each timer's service (snapm-TYPE@NAME.service, the unit
// the timer triggers): its outcome mirrored from systemd, and RunNow.
//
// Locks: the service's state lives on its Timer under Timer.mu, ordered
// against systemd's signals by its own sequence number (runSeq), apart from
// the timer unit's; RunNow holds the timer's operation lock like every
// operation, but waits only for systemd to queue the job, never for the run.

package timers

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"
)

// Activity says whether the timer's service runs right now.
type Activity string

const (
	ActivityIdle    Activity = "idle"
	ActivityRunning Activity = "running"
)

// RunState is systemd's view of a timer's service unit. LoadState is empty
// when systemd has not loaded it (it never ran since boot, or systemd
// forgot it).
type RunState struct {
	LoadState   string
	ActiveState string
	// Result is systemd's verdict on the last run: success, exit-code,
	// signal, core-dump, timeout, start-limit-hit, resources, ...; systemd
	// resets it to success when a run starts.
	Result         string
	ExecMainStatus int32
	// ExecMainStart and ExecMainExit are CLOCK_REALTIME microseconds, 0
	// for none.
	ExecMainStart uint64
	ExecMainExit  uint64
	// InvocationID is the run's invocation ID in hex, "" for none.
	InvocationID string
}

// ran: systemd has a run to tell of. A loaded service that never ran says
// Result=success with no start time; a run that could not start (say
// start-limit-hit) has a result but maybe no start time of its own.
func (r RunState) ran() bool {
	return r.ExecMainStart != 0 || (r.Result != "" && r.Result != "success")
}

// activity maps the service's ActiveState: a oneshot service is
// "activating" for as long as its command runs. systemd signals a start's
// Service properties (a new ExecMainStartTimestamp, no exit yet, Result
// reset to success) before its Unit ones (ActiveState): in between, the
// run has started all the same, and "idle" beside a fresh "success" would
// tell of a run that succeeded when it has only begun.
func (r RunState) activity() Activity {
	switch r.ActiveState {
	case "activating", "active", "deactivating", "reloading", "refreshing":
		return ActivityRunning
	}
	if r.ExecMainStart != 0 && r.ExecMainExit == 0 && r.ActiveState != "failed" {
		return ActivityRunning
	}
	return ActivityIdle
}

// ServiceUnit is the service a timer triggers: snapm-TYPE@NAME.service.
func (k Key) ServiceUnit() string { return strings.TrimSuffix(k.Unit(), ".timer") + ".service" }

// ParseServiceUnit reverses Key.ServiceUnit.
func ParseServiceUnit(unit string) (Key, bool) {
	base, ok := strings.CutSuffix(unit, ".service")
	if !ok {
		return Key{}, false
	}
	return ParseUnit(base + ".timer")
}

// servicePatterns match every service unit of ours.
var servicePatterns = func() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = Key{Type: t, Name: "*"}.ServiceUnit()
	}
	return out
}()

// ServiceChanged applies a change systemd signalled for a service unit
// (seq orders it against reads); apply sets the changed fields.
func (m *Manager) ServiceChanged(unit string, seq uint64, apply func(*RunState)) {
	key, ok := ParseServiceUnit(unit)
	if !ok {
		return
	}
	t, err := m.timer(key)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq <= t.runSeq || t.removed {
		return
	}
	// systemd sends signals only for loaded units.
	t.run.LoadState = "loaded"
	apply(&t.run)
	t.runSeq = seq
	t.publish(m.cfg.Observer)
}

// applyRunRead takes a read of the service made at seq; t.mu held.
func (t *Timer) applyRunRead(r RunState, seq uint64) {
	if seq != 0 && seq >= t.runSeq {
		t.run, t.runSeq = r, seq
	}
}

// RunNow starts the timer's service now, whatever the timer's status, and
// returns once systemd has queued the start job: a snapshot can take
// minutes, and the caller follows Activity and LastRunResult.
func (m *Manager) RunNow(ctx context.Context, key Key) (Snapshot, error) {
	return m.op(ctx, key, 0, func(t *Timer) (bool, error) {
		unit := key.ServiceUnit()
		t.mu.Lock()
		busy := t.run.activity() == ActivityRunning
		t.mu.Unlock()
		if busy {
			return true, fmt.Errorf("%w: %s is running already", ErrBusy, unit)
		}
		if err := m.cfg.Systemd.QueueStart(ctx, unit); err != nil {
			return true, fmt.Errorf("running %s: %w", unit, err)
		}
		t.log.Info("run queued", zap.String("service", unit))
		return true, nil
	})
}

// readBusyRuns reads the services adoption must know before the name is
// claimed: those systemd lists as not inactive, since a run in progress
// must not show as idle, nor a failure as nothing. One call lists them all
// and there are few of them, so a daemon adopting thousands of timers that
// never ran makes no call per timer.
func (m *Manager) readBusyRuns(ctx context.Context) error {
	listed, _, err := m.cfg.Systemd.LoadedUnits(ctx, servicePatterns)
	if err != nil {
		return fmt.Errorf("listing loaded service units: %w", err)
	}
	for unit, st := range listed {
		key, ok := ParseServiceUnit(unit)
		if !ok || !st.loaded() || st.ActiveState == "inactive" {
			continue
		}
		t, err := m.timer(key)
		if err != nil {
			continue
		}
		if err := m.readRun(ctx, t); ctx.Err() != nil {
			return ctx.Err()
		} else if err != nil {
			t.log.Warn("reading the service's run, ignoring", zap.Error(err))
		}
	}
	return nil
}

// readRunIfTriggered reads the last run of t's service when t has
// triggered since boot and no run of it is known yet: a daemon adopting
// thousands of timers that never ran makes no call for them.
func (m *Manager) readRunIfTriggered(ctx context.Context, t *Timer) {
	t.mu.Lock()
	want := t.unit.LastTrigger != 0 && t.runSeq == 0
	t.mu.Unlock()
	if !want {
		return
	}
	if err := m.readRun(ctx, t); err != nil && ctx.Err() == nil {
		t.log.Warn("reading the service's last run, ignoring", zap.Error(err))
	}
}

// readRun reads t's service from systemd and publishes what it says.
func (m *Manager) readRun(ctx context.Context, t *Timer) error {
	r, seq, err := m.cfg.Systemd.ServiceState(ctx, t.key.ServiceUnit())
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applyRunRead(r, seq)
	if !t.removed {
		t.publish(m.cfg.Observer)
	}
	return nil
}
