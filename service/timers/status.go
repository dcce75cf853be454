package timers

// Status is the one-word verdict on a timer that frontends show.
type Status string

const (
	StatusDisabled Status = "disabled"
	StatusEnabled  Status = "enabled"
	StatusRunning  Status = "running"
	StatusInvalid  Status = "invalid"
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
