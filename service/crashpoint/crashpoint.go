// Package crashpoint marks the steps of an operation where a crash leaves
// the most interesting state behind, so that the fault tests can kill the
// daemon exactly there. Only a binary built with the crashpoints tag can
// crash; in every other build Hit compiles to nothing.
package crashpoint

import "strconv"

// EnvVar names the step a crashpoints build kills itself at: STEP, its
// first pass, or Nth(STEP, n).
const EnvVar = "SNAPM_TIMERSD_CRASH_AT"

// Nth names the nth pass (from 1) of step, for the operations that pass
// it once per timer: the schedule's, which pass each step once for its
// create timer and then once for its gc timer.
func Nth(step string, n int) string { return step + "#" + strconv.Itoa(n) }

// The steps, in the order the operations pass them.
const (
	EnableDropInWritten = "enable:drop-in-written"
	EnableUnitEnabled   = "enable:unit-enabled"
	EnableSynced        = "enable:synced"
	DisableStopped      = "disable:stopped"
	DisableUnitDisabled = "disable:unit-disabled"
	DisableDropInGone   = "disable:drop-in-removed"

	ScheduleFileWritten      = "schedule:file-written"
	CreateConfigured         = "create:configured"
	SetCalendarDropInWritten = "setcalendar:drop-in-written"
	RemoveRecordGone         = "remove:record-removed"
)

// Steps lists every step of Enable and Disable, for the tests; the other
// operations' steps each have a test of their own.
var Steps = []string{
	EnableDropInWritten, EnableUnitEnabled, EnableSynced,
	DisableStopped, DisableUnitDisabled, DisableDropInGone,
}
