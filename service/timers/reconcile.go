// Reconciliation of one timer: systemd's and the disk's view read into it
// after an operation, or when it owes a read, and published.
//
// Locks: a read of one timer runs under its operation lock (Timer.op), so
// our own writes cannot race the read of the drop-in; the values are
// applied under Timer.mu, ordered against signals by the bus's message
// sequence numbers.

package timers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/dropin"
	"github.com/snapm/snapm-timersd/service/unitfiles"
)

// Disagreement marks the log entries of the in-process calendar engine
// and systemd disagreeing, so that tests can count them in any log.
var Disagreement = zap.Bool("engine_systemd_disagreement", true)

// Reads says what a refresh re-reads of systemd's view.
type Reads uint8

// ReadUnit is the runtime state (GetUnit and GetAll); ReadUnitFile the
// unit file state, read from the symlinks (see unitFileState): it changes
// only through Enable and Disable (which read it) or an outside change of
// unit files (which resyncs it).
const (
	ReadUnit Reads = 1 << iota
	ReadUnitFile
	ReadAll = ReadUnit | ReadUnitFile
	// readLoadState is ReadUnit owed only to learn LoadState, which a
	// successful Start tells too.
	readLoadState Reads = 1 << iota
	// readRun is the last run of the timer's service, read only if the
	// timer has triggered (owed with ReadUnit, which tells LastTrigger).
	readRun
	// readStale is owed with ReadUnit at start-up: a timer that systemd
	// has loaded with NeedDaemonReload over its drop-in was left so by a
	// crash between the drop-in's write and the daemon-reload that
	// follows it, and the reader reloads systemd (see reloadIfStale).
	readStale
)

// refresh reads systemd's and the disk's view of t and publishes it. The
// caller holds t's operation lock, so our own writes cannot race the read
// of the drop-in.
func (m *Manager) refresh(ctx context.Context, t *Timer, reads Reads) error {
	return m.apply(t, m.readSystemd(ctx, t, reads))
}

// systemdRead is what systemd (and the symlinks, for the unit file state)
// said of a timer's unit.
type systemdRead struct {
	st        UnitState
	seq       uint64
	fileState string // "": not read
	err       error
	// began is the wall clock when the read began, to tell a drop-in
	// written after it (see changedSince).
	began time.Time
}

// readSystemd reads what reads names of t's unit. What is not read, or
// systemd fails to tell, keeps its last known value when applied.
func (m *Manager) readSystemd(ctx context.Context, t *Timer, reads Reads) systemdRead {
	unit := t.key.Unit()
	r := systemdRead{began: time.Now()}
	if reads&readLoadState != 0 {
		reads = reads&^readLoadState | ReadUnit
	}
	t.mu.Lock()
	t.owed &^= reads // what falls due from now on is read again
	if reads&ReadUnit != 0 {
		t.owed &^= readLoadState
	}
	t.mu.Unlock()
	// The symlinks are read while systemd answers: a readdir of the unit
	// directory, which grows with the timers, against a bus round trip.
	var fileErr error
	var files sync.WaitGroup
	if reads&ReadUnitFile != 0 {
		files.Add(1)
		go func() {
			defer files.Done()
			r.fileState, fileErr = m.unitFileState(ctx, unit)
		}()
	}
	if reads&ReadUnit != 0 {
		if r.st, r.seq, r.err = m.cfg.Systemd.UnitState(ctx, unit); r.err != nil {
			r.err = fmt.Errorf("reading state of %s: %w", unit, r.err)
		}
	}
	files.Wait()
	if fileErr != nil {
		r.err = errors.Join(r.err, fmt.Errorf("reading unit file state of %s: %w", unit, fileErr))
		r.fileState = ""
	}
	return r
}

// changedSince says whether unit's drop-in may have been written after
// t, when systemd was read: it then had the older one loaded with no
// reload owed yet, which is no disagreement of the engine's, and the
// write's own event brings a read that compares like with like. Inode
// times lag the clock by up to a kernel tick, hence the margin. Asked
// only of a disagreement, so it costs nothing otherwise.
func (m *Manager) changedSince(unit string, t time.Time) bool {
	fi, err := os.Stat(dropin.Path(m.cfg.UnitDir, unit))
	return err != nil || !fi.ModTime().Before(t.Add(-20*time.Millisecond))
}

// readAhead runs readSystemd while the caller waits on the disk, which
// neither changes what systemd has loaded nor depends on it; the caller
// receives from the channel on every path.
// Needed by: tests/bench row "create+enable+start of a fresh timer: daemon, its Enable".
func (m *Manager) readAhead(ctx context.Context, t *Timer, reads Reads) <-chan systemdRead {
	read := make(chan systemdRead, 1)
	go func() { read <- m.readSystemd(ctx, t, reads) }()
	return read
}

// apply publishes r with the disk's view of t; the caller holds t's
// operation lock.
func (m *Manager) apply(t *Timer, r systemdRead) error {
	unit := t.key.Unit()
	sdErr := r.err
	spec, dropIn, readErr := dropin.Read(m.cfg.UnitDir, unit)
	if readErr != nil {
		// There, but unreadable: the timer shows invalid, the rest as read.
		dropIn = true
		sdErr = errors.Join(sdErr, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, readErr))
	}
	t.mu.Lock()
	t.dropIn, t.dropInErr = dropIn, readErr
	edited := readErr == nil && dropIn && spec != t.spec
	if edited {
		// Someone changed the drop-in by hand; it is what systemd runs.
		t.spec = spec
		t.cal, t.calErr = m.cfg.Calendar.Parse(spec, m.cfg.Now())
		t.log.Info("drop-in changed outside the service", zap.String("calendar", spec), zap.Error(t.calErr))
	}
	t.applyRead(r.st, r.seq)
	if r.fileState != "" {
		t.unit.UnitFileState = r.fileState
	}
	if sd := t.systemdCalendar(); sd != "" && t.calErr == nil && sd != t.cal.Normalized && !m.changedSince(unit, r.began) {
		m.log.Warn("systemd normalizes the calendar expression differently; systemd's form is shown",
			zap.String("unit", unit), zap.String("systemd", sd), zap.String("engine", t.cal.Normalized), Disagreement)
	}
	// Only while systemd runs the schedule we have: syncConfig publishes
	// its view once before the daemon-reload that brings a new one.
	// Both in the future: at an elapse the engine moves on a moment
	// before or after systemd does.
	now := uint64(m.cfg.Now().UnixMicro())
	if t.unit.active() && t.systemdCalendar() == t.cal.Normalized && t.unit.NextElapse > now && t.cal.Next > now && t.unit.NextElapse != t.cal.Next {
		t.log.Warn("systemd's next elapse differs from the engine's; systemd's is shown",
			zap.Uint64("systemd_usec", t.unit.NextElapse), zap.Uint64("engine_usec", t.cal.Next), Disagreement)
	}
	removed := t.removed
	if !removed {
		t.publish(m.cfg.Observer)
	}
	t.mu.Unlock()
	if edited && !removed {
		m.pokeElapses()
		m.followDropIn(t.key)
		return errors.Join(sdErr, m.store.put(t.key.record(spec)))
	}
	return sdErr
}

// unitFileState is what systemd's GetUnitFileState answers for unit, read
// from the symlinks as systemd itself reads them: asking systemd costs a
// walk of every .wants directory (see unitfiles), and the
// UnitFileState property of a loaded unit is no substitute, as systemd 252
// computes it once and keeps it until the next daemon-reload. Only a unit
// with a file of its own is left for systemd to judge.
func (m *Manager) unitFileState(ctx context.Context, unit string) (string, error) {
	state, known, err := unitfiles.State(unitfiles.Dirs{Persistent: m.cfg.UnitDir, Runtime: m.cfg.RuntimeUnitDir}, unit)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrIO, err)
	}
	if known {
		return state, nil
	}
	return m.cfg.Systemd.UnitFileState(ctx, unit)
}
