// GetManagedObjects answered from a reply encoded once and shared: every
// frontend's start asks for every object, and godbus builds a map of
// variants for each and encodes the whole reply twice (once to count its
// file descriptors) per call. At 1,000 timers that was 42 ms of the
// daemon's CPU a call; eight callers with four calls each in flight at
// 3,500 timers took its memory from 65 to 659 MiB, and root's calls
// waited seconds behind them.
//
// The reply's body is kept encoded, one dict entry per object, each
// encoded when first asked for after its object changed; the whole body
// is kept until any object changes. The call is taken from the
// connection before godbus decodes it (busconn), and the reply is written
// from one goroutine, so that callers share one body however many they
// are, and none of them costs more than its header.

package dbusapi

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"

	"github.com/snapm/snapm-timersd/service/busconn"
)

// RawConn is what the shared reply needs of the connection.
type RawConn interface {
	AddFilter(busconn.Filter)
	Send(msg ...[]byte) error
}

// managedSig is GetManagedObjects' reply signature.
const managedSig = "a{oa{sa{sv}}}"

// managedCache keeps the encoded reply. Objects of any interface plug in:
// whoever publishes an object marks its path changed (or removed) once it
// shows the change, without holding Server.mu, and the server's
// managedInterfaces says what the path shows.
type managedCache struct {
	// build makes one caller build what is stale while the others wait
	// for its result.
	build sync.Mutex
	mu    sync.Mutex
	gen   uint64
	// entries: the encoded dict entry of each object; nil data is stale.
	entries map[dbus.ObjectPath]*managedEntry
	body    []byte // nil: stale
	// order is the paths of entries, sorted; nil once a path comes or
	// goes.
	order []dbus.ObjectPath
}

type managedEntry struct {
	gen  uint64 // of the change that made it stale
	data []byte
}

// changed marks path's object stale; it is encoded again when next asked.
func (c *managedCache) changed(path dbus.ObjectPath) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[dbus.ObjectPath]*managedEntry{}
	}
	c.gen++
	if c.entries[path] == nil {
		c.order = nil
	}
	c.entries[path] = &managedEntry{gen: c.gen}
	c.body = nil
}

func (c *managedCache) removed(path dbus.ObjectPath) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, path)
	c.order = nil
	c.body = nil
}

// reply returns the body, encoding what is stale with ifaces.
func (c *managedCache) reply(ifaces func(dbus.ObjectPath) (map[string]map[string]dbus.Variant, bool)) ([]byte, error) {
	c.build.Lock()
	defer c.build.Unlock()
	type stale struct {
		path dbus.ObjectPath
		gen  uint64
	}
	c.mu.Lock()
	if c.body != nil {
		defer c.mu.Unlock()
		return c.body, nil
	}
	var todo []stale
	for path, e := range c.entries {
		if e.data == nil {
			todo = append(todo, stale{path, e.gen})
		}
	}
	c.mu.Unlock()
	// Encoded without the lock, so that publishing never waits for it.
	encoded := make([][]byte, len(todo))
	for i, s := range todo {
		var err error
		if encoded[i], err = encodeEntry(s.path, ifaces); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range todo {
		if e := c.entries[s.path]; e != nil && e.gen == s.gen {
			e.data = encoded[i]
		}
	}
	size := 8
	for path, e := range c.entries {
		if e.data == nil {
			// Changed again meanwhile: encoded under the lock, rarely.
			// (Publishers never hold the server's lock while they take
			// this one, so ifaces can take it.)
			data, err := encodeEntry(path, ifaces)
			if err != nil {
				return nil, err
			}
			e.data = data
		}
		size += len(e.data) + 7
	}
	if c.order == nil {
		// In order, so that replies list the objects alike.
		c.order = slices.Sorted(maps.Keys(c.entries))
	}
	enc := busconn.Encoder{B: make([]byte, 0, size)}
	lenAt, start := enc.BeginArray(8)
	for _, path := range c.order {
		if data := c.entries[path].data; len(data) > 0 {
			enc.Align(8)
			enc.B = append(enc.B, data...)
		}
	}
	enc.EndArray(lenAt, start)
	c.body = enc.B
	return c.body, nil
}

// encodeEntry encodes one dict entry {o, a{sa{sv}}}, which starts at an
// 8-aligned offset wherever it goes.
func encodeEntry(path dbus.ObjectPath, ifaces func(dbus.ObjectPath) (map[string]map[string]dbus.Variant, bool)) ([]byte, error) {
	all, ok := ifaces(path)
	if !ok {
		// Gone, and about to be removed here too: no entry.
		return []byte{}, nil
	}
	// Sized for a timer's, so that it grows at most once.
	enc := busconn.Encoder{B: make([]byte, 0, 1024)}
	enc.String(string(path))
	lenAt, start := enc.BeginArray(8)
	for iface, props := range all {
		enc.Align(8)
		enc.String(iface)
		propsAt, propsStart := enc.BeginArray(8)
		for name, v := range props {
			enc.Align(8)
			enc.String(name)
			if err := enc.Variant(v); err != nil {
				return nil, fmt.Errorf("%s property %s: %w", path, name, err)
			}
		}
		enc.EndArray(propsAt, propsStart)
	}
	enc.EndArray(lenAt, start)
	return enc.B, nil
}

// managedCall is a GetManagedObjects call taken from the connection.
type managedCall struct {
	sender string
	serial uint32
}

// takeManaged is the busconn filter that takes GetManagedObjects calls
// of the root object with no arguments; anything else (arguments that
// godbus refuses, another path) goes on to godbus.
func (s *Server) takeManaged(msg *busconn.Message) bool {
	if msg.Type != dbus.TypeMethodCall || string(msg.Member) != "GetManagedObjects" || string(msg.Path) != string(RootPath) ||
		(len(msg.Interface) != 0 && string(msg.Interface) != objectManagerIface) || len(msg.Signature) != 0 || len(msg.Sender) == 0 {
		return false
	}
	if msg.Flags&dbus.FlagNoReplyExpected != 0 {
		return true
	}
	s.managedMu.Lock()
	s.managedCalls = append(s.managedCalls, managedCall{sender: string(msg.Sender), serial: msg.Serial})
	s.managedMu.Unlock()
	select {
	case s.managedWake <- struct{}{}:
	default:
	}
	return true
}

// managedPace spaces the replies to callers other than root, all of them
// together: a reply costs the daemon next to nothing now, but a caller
// that asks without end keeps dbus-daemon and itself busy relaying and
// decoding replies, and on a small machine root's calls wait behind them
// (issue 26). Frontends ask once when they start, so ten a second (after
// a burst of ten) delays nobody; a reply counts as one per
// managedPaceBytes or part of it, so that floods relay at most about 6 MiB
// a second (at 1,000 timers a reply is 1.2 MiB, at 10,000 6.2 MiB). The uids waiting
// are served in turn, so that one uid's flood delays another's reply by
// one turn.
const (
	managedPace      = 100 * time.Millisecond
	managedPaceBytes = 640 << 10
	managedBurst     = 10
)

// answerManaged replies to the calls takeManaged took until the server's
// context ends: root's at once, the others' paced. The calls waiting
// are few however hard callers push: dbus-daemon bounds each caller's
// calls awaiting a reply.
func (s *Server) answerManaged() {
	waiting := map[uint32][]managedCall{} // by uid
	var turns []uint32                    // uids with calls waiting, next first
	var next time.Time                    // when the next paced reply may go
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var paced <-chan time.Time
		if len(turns) > 0 {
			timer.Reset(time.Until(next))
			paced = timer.C
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.managedWake:
		case <-paced:
		}
		s.managedMu.Lock()
		calls := s.managedCalls
		s.managedCalls = nil
		s.managedMu.Unlock()
		for _, call := range calls {
			// A caller the bus cannot name is paced as if unprivileged.
			uid, err := s.managedCallers.uid(s.ctx, call.sender)
			if err == nil && uid == 0 {
				s.answer(call)
				continue
			}
			if len(waiting[uid]) == 0 {
				turns = append(turns, uid)
			}
			waiting[uid] = append(waiting[uid], call)
		}
		for now := time.Now(); len(turns) > 0 && !now.Before(next); now = time.Now() {
			uid := turns[0]
			turns = turns[1:]
			size := s.answer(waiting[uid][0])
			if waiting[uid] = waiting[uid][1:]; len(waiting[uid]) > 0 {
				turns = append(turns, uid)
			} else {
				delete(waiting, uid)
			}
			if earliest := now.Add(-managedBurst * managedPace); next.Before(earliest) {
				next = earliest
			}
			next = next.Add(managedPace * time.Duration(max(1, (size+managedPaceBytes-1)/managedPaceBytes)))
		}
	}
}

// answer sends call the shared reply, and says how big its body is.
func (s *Server) answer(call managedCall) int {
	body, err := s.managed.reply(s.managedInterfaces)
	if err != nil {
		s.cfg.Log.Error("encoding GetManagedObjects' reply", zap.Error(err))
		return 0
	}
	if err := s.cfg.Raw.Send(busconn.Reply(call.sender, call.serial, managedSig, len(body)), body); err != nil {
		s.cfg.Log.Error("sending GetManagedObjects' reply", zap.String("sender", call.sender), zap.Error(err))
	}
	return len(body)
}
