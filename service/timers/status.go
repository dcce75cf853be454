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

// active reports whether systemd runs the timer (waiting for its next elapse,
// triggering its service now, or elapsed for good).
func (u UnitState) active() bool { return u.ActiveState == "active" }

func (u UnitState) inactive() bool { return u.ActiveState == "inactive" || u.ActiveState == "" }

// DeriveStatus is the status table. Only the shapes our own operations leave
// behind map to a good status; everything else is "invalid" so that a half
// applied or externally tampered timer is visible rather than guessed at.
//
//	drop-in  unit file  LoadState            ActiveState         Status
//	absent   !enabled   any                  inactive            disabled
//	present  enabled    loaded or not loaded inactive            enabled
//	present  enabled    loaded               active              running
//	(anything else: drop-in without enablement or the reverse, a load
//	 error such as bad-setting or masked, failed, active without drop-in)  invalid
func DeriveStatus(dropIn bool, u UnitState) Status {
	enabled := u.UnitFileState == "enabled"
	switch {
	case !dropIn && !enabled && u.inactive():
		return StatusDisabled
	case dropIn && enabled && (u.LoadState == "" || u.loaded()) && u.inactive():
		return StatusEnabled
	case dropIn && enabled && u.loaded() && u.active():
		return StatusRunning
	}
	return StatusInvalid
}
