//go:build !race

package timers

const raceDetector = false
