package calendar

import (
	"bytes"
	"os"
	"sync/atomic"
)

// LiveZone is the host's zone as it is now: the system's zone can change
// while the daemon runs (timedatectl set-timezone replaces /etc/localtime),
// and systemd follows it at once.
type LiveZone struct {
	zone atomic.Pointer[Zone]
	// data is what the zone was read from, to tell a real change.
	data atomic.Pointer[[]byte]
}

// NewLiveZone starts at the host's zone.
func NewLiveZone() (*LiveZone, error) {
	l := &LiveZone{}
	if _, err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// Load is the zone now.
func (l *LiveZone) Load() *Zone { return l.zone.Load() }

// Reload reads the host's zone again and tells whether it changed. With
// $TZ set it never does, as for every process that runs with it.
func (l *LiveZone) Reload() (changed bool, err error) {
	if _, ok := os.LookupEnv("TZ"); ok && l.zone.Load() != nil {
		return false, nil
	}
	data, _ := os.ReadFile(HostZoneFile) // absent: HostZone says UTC
	if old := l.data.Load(); old != nil && bytes.Equal(*old, data) {
		return false, nil
	}
	z, err := HostZone()
	if err != nil {
		return false, err
	}
	l.zone.Store(z)
	l.data.Store(&data)
	return true, nil
}
