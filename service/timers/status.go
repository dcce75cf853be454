package timers

import "fmt"

// Status is the one-word verdict on a timer that frontends show.
type Status string

const (
	StatusDisabled Status = "disabled"
	StatusEnabled  Status = "enabled"
	StatusRunning  Status = "running"
	StatusInvalid  Status = "invalid"
)

// StatusReason says why a timer is invalid, as a word frontends put in
// their own language; it is empty for every other status.
type StatusReason string

const (
	// ReasonMasked: the unit file is masked, so it can neither be enabled
	// nor started until unmasked.
	ReasonMasked StatusReason = "masked"
	// ReasonNeedReload: systemd runs other files than those on disk.
	ReasonNeedReload StatusReason = "need-reload"
	// ReasonBadDropIn: the calendar drop-in cannot be read or parsed.
	ReasonBadDropIn StatusReason = "bad-drop-in"
	// ReasonNotEnabled: a calendar drop-in without enablement.
	ReasonNotEnabled StatusReason = "not-enabled"
	// ReasonNoDropIn: enabled or active without its calendar drop-in.
	ReasonNoDropIn StatusReason = "no-drop-in"
	// ReasonLoadError: systemd could not load the unit (bad-setting,
	// error, not-found).
	ReasonLoadError StatusReason = "load-error"
	// ReasonFailed: systemd has the timer unit failed.
	ReasonFailed StatusReason = "failed"
	// ReasonTransition: the unit is between states (activating,
	// deactivating), as no operation of the daemon leaves it.
	ReasonTransition StatusReason = "transition"
)

// UnitState is systemd's view of a timer unit. LoadState is empty when the
// unit is not loaded (systemd has it neither in memory nor a reason to).
type UnitState struct {
	LoadState        string
	ActiveState      string
	SubState         string
	UnitFileState    string
	NeedDaemonReload bool
	// Calendars holds systemd's normalized OnCalendar= expressions, as loaded.
	Calendars []string
	// NextElapse and LastTrigger are CLOCK_REALTIME microseconds, 0 for none.
	NextElapse  uint64
	LastTrigger uint64
}

func (u UnitState) loaded() bool { return u.LoadState == "loaded" }

// active reports whether systemd runs the timer.
func (u UnitState) active() bool { return u.ActiveState == "active" }

// runningTimer: active and waiting for its next elapse, triggering its
// service right now, or elapsed for good (no future elapse).
func (u UnitState) runningTimer() bool {
	return u.active() && (u.SubState == "waiting" || u.SubState == "running" || u.SubState == "elapsed")
}

// masked: the unit file is masked, for good or until the next boot.
func (u UnitState) masked() bool {
	return u.UnitFileState == "masked" || u.UnitFileState == "masked-runtime" || u.LoadState == "masked"
}

// stopped: inactive and dead, or not loaded at all.
func (u UnitState) stopped() bool {
	return u.ActiveState == "" || (u.ActiveState == "inactive" && (u.SubState == "dead" || u.SubState == ""))
}

// DeriveStatus is the status table. Only the shapes our own operations leave
// behind map to a good status; everything else is "invalid" so that a half
// applied or externally tampered timer is visible rather than guessed at.
//
//	drop-in  unit file  LoadState            Active/SubState                 Status
//	absent   !enabled   any                  inactive/dead or not loaded     disabled
//	present  enabled    loaded or not loaded inactive/dead or not loaded     enabled
//	present  enabled    loaded               active/waiting|running|elapsed  running
//	(anything else: drop-in without enablement or the reverse, a load
//	 error such as bad-setting or masked, failed, active without drop-in)  invalid
func DeriveStatus(dropIn bool, u UnitState) Status {
	enabled := u.UnitFileState == "enabled"
	switch {
	case !dropIn && !enabled && u.stopped():
		return StatusDisabled
	case dropIn && enabled && (u.LoadState == "" || u.loaded()) && u.stopped():
		return StatusEnabled
	case dropIn && enabled && u.loaded() && u.runningTimer():
		return StatusRunning
	}
	return StatusInvalid
}

// refuseMasked fails an Enable or Start of a masked timer before anything
// is written, with the command that lifts the mask; t.mu not held.
// systemd's own refusal (UnitMasked) still covers a mask set meanwhile.
func (t *Timer) refuseMasked() error {
	t.mu.Lock()
	masked := t.unit.masked()
	t.mu.Unlock()
	if masked {
		unit := t.key.Unit()
		return fmt.Errorf("%w: %s (run 'systemctl unmask %s' first)", ErrMasked, unit, unit)
	}
	return nil
}

// DeriveReason says why DeriveStatus (or a bad drop-in) made a timer
// invalid, the cause that explains the others first: a masked unit is
// also not enabled, a stale one may be anything.
func DeriveReason(dropIn, badDropIn bool, u UnitState) StatusReason {
	enabled := u.UnitFileState == "enabled"
	switch {
	case u.masked():
		return ReasonMasked
	case u.loaded() && u.NeedDaemonReload:
		return ReasonNeedReload
	case badDropIn:
		return ReasonBadDropIn
	case dropIn && !enabled:
		return ReasonNotEnabled
	case !dropIn:
		return ReasonNoDropIn
	case u.LoadState != "" && !u.loaded():
		return ReasonLoadError
	case u.ActiveState == "failed":
		return ReasonFailed
	}
	return ReasonTransition
}
