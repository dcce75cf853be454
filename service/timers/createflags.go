// A timer created, enabled and started in one call (CreateTimerWithFlags),
// as systemctl enable --now does in one: the floor of three calls is three
// bus round trips and two durable files written one after the other.
//
// Locks: the new timer's operation lock is held from the claim of its key
// until it is announced or forgotten, as for Create.

package timers

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
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
	// The drop-in is the durable truth of an enabled timer's schedule
	// (adoption takes a drop-in without a record, or with another
	// expression, and rewrites the record), so the record need not reach
	// the disk first: the two fsyncs overlap, and both are done before the
	// reply.
	// The record is made here: enable may re-read t's expression (a drop-in
	// edited meanwhile) while the put runs.
	rec := t.key.record(t.spec)
	saved := make(chan error, 1)
	go func() { saved <- m.store.put(rec) }()
	fresh, err := m.enable(ctx, t)
	err = errors.Join(err, <-saved)
	if err == nil && !fresh {
		// A daemon-reload came after enable's read: read what it left, as
		// Enable's own call does.
		err = m.refresh(ctx, t, ReadUnit)
	}
	if err == nil && f&CreateStart != 0 {
		err = m.start(ctx, t)
	}
	if err != nil {
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
