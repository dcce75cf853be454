package timers

// snapmStatus is a timer's status as snapm 0.7 computes it
// (snapm/manager/_timers.py, _status_timer): from systemd's runtime state
// alone, so that a unit systemd still has loaded counts as enabled even
// when its unit file is disabled.
func snapmStatus(u UnitState) Status {
	switch {
	case u.LoadState == "":
		return StatusDisabled
	case !u.loaded():
		return StatusInvalid
	case u.ActiveState == "active" && u.SubState == "waiting":
		return StatusRunning
	case u.ActiveState == "inactive" && u.SubState == "dead":
		return StatusEnabled
	}
	return StatusInvalid
}

// ScheduleState is what snapm says of a schedule with the timers create
// and gc (nil when there is none): Enabled when its create timer is
// enabled or running, Running when both run, and the next elapse of the
// create timer's expression, which snapm computes whatever systemd runs.
func ScheduleState(create, gc *Snapshot) (enabled, running bool, nextElapse uint64) {
	if create == nil {
		return false, false, 0
	}
	enabled = create.SnapmStatus == StatusEnabled || create.SnapmStatus == StatusRunning
	running = create.SnapmStatus == StatusRunning && gc != nil && gc.SnapmStatus == StatusRunning
	return enabled, running, create.CalendarNext
}
