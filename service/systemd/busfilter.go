package systemd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/timers"
)

// The connection's byte stream is read through busFilter, which drops
// systemd's signals about units that are not ours before godbus decodes
// them. Every unit that starts or stops anywhere on the host makes systemd
// send a score of PropertiesChanged and a JobRemoved, and dbus-daemon
// cannot tell ours from the rest: a match rule names whole object paths or
// path namespaces, and a unit's path is one escaped element. Decoding them
// in full only to drop them cost the daemon about 40% of systemd's own CPU
// while unrelated units churned. Peeking at the header (and, for
// JobRemoved, at the unit name that opens its body) costs next to nothing.
//
// A message is dropped only when the peek proves it is one of those two
// signals and names a unit that is neither a timer of ours nor its
// service, whatever the unit's state: a timer or service someone adds
// while the daemon runs is never dropped, so that no match rule has to be
// in place before its first change. Anything the peek cannot read (an
// odd header, a header bigger than the buffer) goes to godbus as it is.

// maxPeek bounds the header a message may have to be judged; systemd's
// are a few hundred bytes.
const maxPeek = 16 << 10

// maxMessage is the D-Bus specification's largest message.
const maxMessage = 1 << 27

type busFilter struct {
	net.Conn
	in *bufio.Reader
	// began is set once the client has sent BEGIN: before it the stream
	// is the authentication's lines, after it messages.
	began atomic.Bool
	// left is what remains to be handed to godbus of a message kept.
	left int
	// dropped counts the messages dropped, for tests and the log.
	dropped atomic.Uint64
}

func newBusFilter(c net.Conn) *busFilter {
	return &busFilter{Conn: c, in: bufio.NewReaderSize(c, 64<<10)}
}

// Write sees the authentication's last line go out; godbus writes each
// line in one call.
func (f *busFilter) Write(p []byte) (int, error) {
	if !f.began.Load() && string(p) == "BEGIN\r\n" {
		f.began.Store(true)
	}
	return f.Conn.Write(p)
}

// Read hands godbus the messages kept, whole and in order; godbus's only
// reader calls it, one call at a time.
func (f *busFilter) Read(p []byte) (int, error) {
	if !f.began.Load() {
		return f.in.Read(p)
	}
	for f.left == 0 {
		size, drop := f.judge()
		if size == 0 {
			// Not a message the peek can size: godbus reads what there is,
			// as it would have without the filter.
			return f.in.Read(p)
		}
		if !drop {
			f.left = size
			break
		}
		if _, err := f.in.Discard(size); err != nil {
			return 0, err
		}
		f.dropped.Add(1)
	}
	n, err := f.in.Read(p[:min(len(p), f.left)])
	f.left -= n
	return n, err
}

// judge peeks at the next message: its size (0 if it cannot be told) and
// whether it concerns a unit not ours.
func (f *busFilter) judge() (size int, drop bool) {
	fixed, err := f.in.Peek(16)
	if err != nil {
		return 0, false
	}
	var order binary.ByteOrder
	switch fixed[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return 0, false
	}
	bodyLen := int(order.Uint32(fixed[4:]))
	fieldsLen := int(order.Uint32(fixed[12:]))
	headerLen := align(16+fieldsLen, 8)
	if bodyLen > maxMessage || fieldsLen > maxMessage || headerLen+bodyLen > maxMessage {
		return 0, false
	}
	size = headerLen + bodyLen
	const typeSignal = 4
	if fixed[1] != typeSignal || headerLen > maxPeek {
		return size, false
	}
	// JobRemoved's unit name is its third argument, a few bytes in.
	peek := min(size, headerLen+256)
	msg, err := f.in.Peek(peek)
	if err != nil {
		return size, false
	}
	return size, foreign(msg, order, headerLen)
}

// foreign tells whether msg, a signal of which at least the header and
// what fits of the body's first 256 bytes are at hand, is a
// PropertiesChanged or JobRemoved of a unit not ours. It allocates
// nothing for the units it drops.
func foreign(msg []byte, order binary.ByteOrder, headerLen int) bool {
	var path, iface, member []byte
	r := wire{b: msg[:headerLen], order: order, pos: 16}
	for r.pos < headerLen {
		r.align(8)
		if r.pos >= headerLen {
			break
		}
		code := r.byte()
		var v []byte
		switch string(r.signature()) {
		case "s", "o":
			v = r.string()
		case "g":
			v = r.signature()
		case "u":
			r.align(4)
			r.pos += 4
		default:
			return false
		}
		if r.bad {
			return false
		}
		switch code {
		case 1:
			path = v
		case 2:
			iface = v
		case 3:
			member = v
		}
	}
	switch {
	case string(iface) == propsIface && string(member) == "PropertiesChanged" && bytes.HasPrefix(path, []byte(unitPrefix)):
		// Every unit of ours escapes to a label that starts so.
		if !bytes.HasPrefix(path[len(unitPrefix):], []byte("snapm_2d")) {
			return true
		}
		unit, ok := unitFromPath(dbus.ObjectPath(path))
		return !ok || !ours(unit)
	case string(iface) == managerIface && string(member) == "JobRemoved":
		body := wire{b: msg[headerLen:], order: order}
		body.pos = 4 // the job's id
		body.string()
		unit := body.string()
		return !body.bad && !(bytes.HasPrefix(unit, []byte("snapm-")) && ours(string(unit)))
	}
	return false
}

// ours: a timer of ours or the service it triggers.
func ours(unit string) bool {
	_, timer := timers.ParseUnit(unit)
	_, service := timers.ParseServiceUnit(unit)
	return timer || service
}

// wire reads the D-Bus marshalling of a byte slice; bad says it ran off
// its end or met something else than it expected.
type wire struct {
	b     []byte
	order binary.ByteOrder
	pos   int
	bad   bool
}

func (w *wire) align(n int) { w.pos = align(w.pos, n) }

func (w *wire) byte() byte {
	if w.pos >= len(w.b) {
		w.bad = true
		return 0
	}
	w.pos++
	return w.b[w.pos-1]
}

func (w *wire) signature() []byte {
	n := int(w.byte())
	return w.bytes(n)
}

func (w *wire) string() []byte {
	w.align(4)
	if w.pos+4 > len(w.b) {
		w.bad = true
		return nil
	}
	n := int(w.order.Uint32(w.b[w.pos:]))
	w.pos += 4
	return w.bytes(n)
}

// bytes reads n bytes and the nul after them.
func (w *wire) bytes(n int) []byte {
	if w.bad || n < 0 || w.pos+n+1 > len(w.b) || w.b[w.pos+n] != 0 {
		w.bad = true
		return nil
	}
	s := w.b[w.pos : w.pos+n]
	w.pos += n + 1
	return s
}

func align(n, to int) int { return (n + to - 1) &^ (to - 1) }

var _ io.ReadWriteCloser = (*busFilter)(nil)
