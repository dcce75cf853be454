//go:build race

package timers

// raceDetector: the race detector multiplies the CPU time of computation
// by 5 to 10, so budgets of CPU time say nothing under it.
const raceDetector = true
