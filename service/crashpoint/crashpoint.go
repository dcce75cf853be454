// Package crashpoint marks the steps of an operation where a crash leaves
// the most interesting state behind, so that the fault tests can kill the
// daemon exactly there. Only a binary built with the crashpoints tag can
// crash; in every other build Hit compiles to nothing.
package crashpoint

// EnvVar names the step a crashpoints build kills itself at.
const EnvVar = "SNAPM_TIMERSD_CRASH_AT"

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
