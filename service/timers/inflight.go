// Marks of Enable and Disable under way. Each changes two things, the
// drop-in and the unit file's enablement, and a timer with its drop-in and
// no enablement in between is invalid. snapm's own `schedule enable` and
// `disable` pass through that very state (snapm writes the drop-in, then
// enables; disables, then removes the drop-in), and the daemon must leave
// snapm's alone: only a mark of its own tells start-up that the state is
// one of its calls cut short, to be finished.
//
// A mark is an empty file, inflight/OP/UNIT in the state directory (the
// unit's name alone: it may be as long as a name can be), made durable by
// one sync of that directory before the call's first change, and removed
// without a sync once the call is over. A removal a power cut
// loses leaves a mark start-up finds with the call's state complete, or
// with nothing of it: it then drops the mark and changes nothing; it acts
// only on a timer left halfway. Only if snapm too was halfway on that
// timer at the power cut does start-up finish the marked call rather than
// leave snapm's, which the next snapm enable or disable mends.

package timers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/snapm/snapm-timersd/service/atomicfile"
	"github.com/snapm/snapm-timersd/service/dropin"
)

const inflightDir = "inflight"

// inflightOp names the call a mark is for.
type inflightOp string

const (
	opEnable  inflightOp = "enable"
	opDisable inflightOp = "disable"
)

// markDir holds the marks of op.
func (s *store) markDir(op inflightOp) string { return filepath.Join(s.dir, inflightDir, string(op)) }

// begin marks op under way on key. The mark is seen by a start-up after a
// crash at once, and after a power cut once durable returns nil; a caller
// with other work that may come before that overlaps it with the sync.
func (s *store) begin(key Key, op inflightOp) (durable func() error, err error) {
	dir := s.markDir(op)
	d, err := atomicfile.OpenDir(dir)
	made := false
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			made = true
			d, err = atomicfile.OpenDir(dir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: marking %s of %s: %w", ErrIO, op, key, err)
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), key.Unit(), unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: marking %s of %s: %w", ErrIO, op, key, &os.PathError{Op: "openat", Path: filepath.Join(dir, key.Unit()), Err: err})
	}
	unix.Close(fd)
	return func() error {
		err := atomicfile.SyncDir(dir)
		if made {
			// The directories made on the way, once.
			for _, parent := range []string{filepath.Dir(dir), s.dir} {
				err = errors.Join(err, atomicfile.SyncDir(parent))
			}
		}
		if err != nil {
			return fmt.Errorf("%w: marking %s of %s: %w", ErrIO, op, key, err)
		}
		return nil
	}, nil
}

// end removes the mark of op on key, not durably (see above).
func (s *store) end(key Key, op inflightOp) error {
	err := os.Remove(filepath.Join(s.markDir(op), key.Unit()))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: clearing the mark of %s of %s: %w", ErrIO, op, key, err)
	}
	return nil
}

// endMark removes the mark of op on t once the call is over, whatever
// its outcome: a failed call is shown as it left the timer, and start-up
// shows it so too.
func (m *Manager) endMark(t *Timer, op inflightOp) {
	if err := m.store.end(t.key, op); err != nil {
		t.log.Warn("the call is over, and its mark is left", zap.Error(err))
	}
}

// inflight returns the marks found, one per timer: a timer with both
// marks (a power cut lost the removal of one) is ambiguous, and comes with
// neither; a name that is no mark of ours is left as it is.
func (s *store) inflight() (map[Key]inflightOp, error) {
	marks := map[Key]inflightOp{}
	both := map[Key]bool{}
	for _, op := range []inflightOp{opEnable, opDisable} {
		entries, err := os.ReadDir(s.markDir(op))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrIO, err)
		}
		for _, e := range entries {
			key, ok := ParseUnit(e.Name())
			if !ok {
				continue
			}
			if _, ok := marks[key]; ok {
				both[key] = true
			}
			marks[key] = op
		}
	}
	for key := range both {
		s.end(key, opEnable)
		s.end(key, opDisable)
		delete(marks, key)
	}
	return marks, nil
}

// finishInflight finishes, at start-up, every Enable and Disable that a
// crash cut short with the timer halfway, and drops every mark. Both are
// rolled forward, never back: the caller got no answer, so done is a state
// it could see, and it is the state it asked for. Rolling back an Enable
// would take away a drop-in that may have been there before the call, and
// rolling back a Disable would bring back a schedule the caller meant to
// end, at the next boot too.
func (m *Manager) finishInflight(ctx context.Context) {
	marks, err := m.store.inflight()
	if err != nil {
		m.log.Warn("reading the marks of calls under way, ignoring", zap.Error(err))
		return
	}
	reload := false
	for _, key := range adoptionOrder(marks) {
		op := marks[key]
		log := m.log.With(zap.Stringer("unit", key), zap.String("call", string(op)))
		stale, err := m.finishCutShort(ctx, log, key, op)
		if err != nil {
			log.Warn("finishing a call a crash cut short, leaving the timer as it is", zap.Error(err))
		}
		reload = reload || stale
		if err := m.store.end(key, op); err != nil {
			log.Warn("dropping the mark of a call a crash cut short, ignoring", zap.Error(err))
		}
	}
	if reload {
		// Disable's last step: systemd unloads the timers it keeps loaded
		// without their drop-ins.
		if err := m.cfg.Systemd.Reload(ctx); err != nil {
			m.log.Warn("reloading systemd for the Disable calls a crash cut short, ignoring", zap.Error(err))
		}
	}
}

// finishCutShort finishes op on key if the timer is halfway: its drop-in
// and no enablement. stale: a Disable is done but for the daemon-reload
// that unloads the timer.
func (m *Manager) finishCutShort(ctx context.Context, log *zap.Logger, key Key, op inflightOp) (stale bool, err error) {
	unit := key.Unit()
	_, dropIn, err := dropin.Read(m.cfg.UnitDir, unit)
	if err != nil {
		return false, fmt.Errorf("%w: reading drop-in of %s: %w", ErrIO, unit, err)
	}
	fileState, err := m.cfg.Systemd.UnitFileState(ctx, unit)
	if err != nil {
		return false, err
	}
	if fileState != "disabled" {
		return false, nil // enabled (done, or Disable's not begun), or someone else's
	}
	switch {
	case dropIn && op == opEnable:
		log.Info("a crash cut Enable short after the drop-in, enabling the timer")
		return false, m.cfg.Systemd.EnableUnit(ctx, unit)
	case dropIn && op == opDisable:
		log.Info("a crash cut Disable short before the drop-in's removal, removing it")
		if err := dropin.Remove(m.cfg.UnitDir, unit); err != nil {
			return false, fmt.Errorf("%w: removing drop-in of %s: %w", ErrIO, unit, err)
		}
	case op == opEnable:
		return false, nil // not begun: nothing to finish
	}
	st, _, err := m.cfg.Systemd.UnitState(ctx, unit)
	return st.loaded() && st.NeedDaemonReload, err
}
