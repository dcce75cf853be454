// A timer created, enabled and started in one call (CreateTimerWithFlags),
// as systemctl enable --now does in one: the floor of three calls is three
// bus round trips and two durable files written one after the other.
//
// Locks: the new timer's operation lock is held from the claim of its key
// until it is announced or forgotten, as for Create.

package timers

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/crashpoint"
)

// CreateFlags say what CreateWithFlags does beyond Create.
type CreateFlags uint64

const (
	// CreateEnable enables the new timer, as Enable.
	CreateEnable CreateFlags = 1 << iota
	// CreateStart starts it too, as Start; only with CreateEnable, since
	// only an enabled timer starts.
	CreateStart

	createFlagsKnown = CreateEnable | CreateStart
)

// ParseCreateFlags checks a caller's flags: unknown bits, or START without
// ENABLE, are refused, so that a client never believes it asked for
// something that was not done.
func ParseCreateFlags(flags uint64) (CreateFlags, error) {
	f := CreateFlags(flags)
	if unknown := f &^ createFlagsKnown; unknown != 0 {
		return 0, fmt.Errorf("%w: unknown flags %#x (known: ENABLE 0x1, START 0x2)", ErrInvalidFlags, uint64(unknown))
	}
	if f&CreateStart != 0 && f&CreateEnable == 0 {
		return 0, fmt.Errorf("%w: START (0x2) needs ENABLE (0x1): only an enabled timer starts", ErrInvalidFlags)
	}
	return f, nil
}

// insertConfigured makes t durable and enabled, and started if f says so,
// before anyone sees it: it is announced once, as it ends up, so no client
// ever sees it disabled on its way. If any step fails it is left as if
// never created.
func (m *Manager) insertConfigured(ctx context.Context, t *Timer, f CreateFlags) (Snapshot, error) {
	unlock, err := m.claim(t)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()
	if err := m.configure(ctx, t, f); err != nil {
		if undoErr := m.discard(ctx, t); undoErr != nil {
			// Half made and kept: shown as it is, for the caller to remove.
			t.log.Error("rolling back a new timer failed, keeping it", zap.Error(undoErr))
			m.announce(t)
		}
		return Snapshot{}, err
	}
	m.announce(t)
	m.pokeElapses()
	return t.Snapshot(), nil
}

// configure records t, enables it, and starts it if f says so, and
// publishes what that left; the caller holds t's operation lock. The
// record reaches the disk first, marked as in the making: a crash from
// here until the mark is cleared leaves a timer that start-up tells from
// one snapm configured, and undoes (undoCreating), so that a retry finds
// nothing in its way.
func (m *Manager) configure(ctx context.Context, t *Timer, f CreateFlags) error {
	rec := t.key.record(t.spec)
	rec.Creating = true
	err := m.store.put(rec)
	fresh := true
	if err == nil {
		fresh, err = m.enable(ctx, t)
	}
	if err == nil && !fresh {
		// A daemon-reload came after enable's read: read what it left, as
		// Enable's own call does.
		err = m.refresh(ctx, t, ReadUnit)
	}
	if err == nil && f&CreateStart != 0 {
		err = m.start(ctx, t)
	}
	if err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.CreateConfigured)
	// As enable left it: a drop-in edited meanwhile is what systemd runs.
	t.mu.Lock()
	rec = t.key.record(t.spec)
	t.mu.Unlock()
	return m.store.put(rec)
}

// undoCreating undoes, at start-up, the timer key that CreateWithFlags was
// making when the daemon died: its caller got no answer, so not done is a
// state it could see, and a retry then finds no timer in its way. It is
// stopped and disabled, and its drop-in and record removed, as the call's
// own rollback does; ok is false if any of that failed, and the timer is
// then kept and shown as found, as a rollback that fails keeps it, its
// mark cleared: a later start must not take away a timer callers have
// seen and may have configured since.
func (m *Manager) undoCreating(ctx context.Context, key Key, spec string) (ok bool) {
	t := m.adoptedTimer(key, spec)
	err := m.refresh(ctx, t, ReadAll)
	if err == nil {
		err = m.disable(ctx, t)
	}
	if err == nil {
		err = m.forget(t)
	}
	if err != nil {
		m.cfg.Systemd.Unfollow(key)
		t.log.Warn("undoing a timer a crash left half made, keeping it", zap.Error(err))
		if err := m.store.put(key.record(spec)); err != nil {
			t.log.Warn("clearing the mark of a half-made timer, ignoring", zap.Error(err))
		}
		return false
	}
	t.log.Info("undid a timer a crash left half made")
	return true
}
