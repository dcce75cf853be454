package busconn

import (
	"bufio"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// maxPeek bounds the header a message may have to be shown to filters;
// the bus's and systemd's are a few hundred bytes.
const maxPeek = 16 << 10

// maxMessage is the D-Bus specification's largest message.
const maxMessage = 1 << 27

// stream is the connection's socket as godbus reads and writes it.
type stream struct {
	net.Conn
	in *bufio.Reader
	// began is set once the client has sent BEGIN: before it the stream
	// is the authentication's lines, after it messages.
	began atomic.Bool
	// left is what remains to be handed to godbus of a message kept.
	left    int
	filters atomic.Pointer[[]Filter]
	// taken counts the messages filters took, for tests.
	taken atomic.Uint64
	// out keeps each message written whole: godbus writes one in a single
	// Write, and Send holds it across its own.
	out sync.Mutex
	// reading is held across each Read, so that Close returns only once
	// godbus's reader has left our code: godbus does not join it.
	reading sync.Mutex
}

func newStream(c net.Conn) *stream {
	return &stream{Conn: c, in: bufio.NewReaderSize(c, 64<<10)}
}

// Write sees the authentication's last line go out; godbus writes each
// line, and each message, in one call.
func (s *stream) Write(p []byte) (int, error) {
	if !s.began.Load() && string(p) == "BEGIN\r\n" {
		s.began.Store(true)
	}
	s.out.Lock()
	defer s.out.Unlock()
	return s.Conn.Write(p)
}

func (s *stream) send(msg [][]byte) error {
	bufs := net.Buffers(msg)
	s.out.Lock()
	defer s.out.Unlock()
	_, err := bufs.WriteTo(s.Conn)
	return err
}

// Close closes the socket and waits for a Read under way to return.
func (s *stream) Close() error {
	err := s.Conn.Close()
	s.reading.Lock()
	defer s.reading.Unlock()
	return err
}

// Read hands godbus the messages kept, whole and in order; godbus's only
// reader calls it, one call at a time.
func (s *stream) Read(p []byte) (int, error) {
	s.reading.Lock()
	defer s.reading.Unlock()
	if !s.began.Load() {
		return s.in.Read(p)
	}
	for s.left == 0 {
		size, taken := s.judge()
		if size == 0 {
			// Not a message the peek can size: godbus reads what there is,
			// as it would have without filters.
			return s.in.Read(p)
		}
		if !taken {
			s.left = size
			break
		}
		if _, err := s.in.Discard(size); err != nil {
			return 0, err
		}
		s.taken.Add(1)
	}
	n, err := s.in.Read(p[:min(len(p), s.left)])
	s.left -= n
	return n, err
}

// judge peeks at the next message: its size (0 if it cannot be told) and
// whether a filter took it.
func (s *stream) judge() (size int, taken bool) {
	fixed, err := s.in.Peek(16)
	if err != nil {
		return 0, false
	}
	size, headerLen := sizes(fixed)
	filters := s.filters.Load()
	if size == 0 || filters == nil || headerLen > maxPeek {
		return size, false
	}
	raw, err := s.in.Peek(min(size, headerLen+BodyPeek))
	if err != nil {
		return size, false
	}
	msg, ok := Parse(raw)
	if !ok {
		return size, false
	}
	for _, f := range *filters {
		if f(&msg) {
			return size, true
		}
	}
	return size, false
}

// sizes reads a message's size and its header's from its first 16
// bytes; 0 if they are not a message's.
func sizes(fixed []byte) (size, headerLen int) {
	var order binary.ByteOrder
	switch fixed[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return 0, 0
	}
	bodyLen := int(order.Uint32(fixed[4:]))
	fieldsLen := int(order.Uint32(fixed[12:]))
	headerLen = align(16+fieldsLen, 8)
	if bodyLen > maxMessage || fieldsLen > maxMessage || headerLen+bodyLen > maxMessage {
		return 0, 0
	}
	return headerLen + bodyLen, headerLen
}

// Parse reads what filters see of a message from raw, its first bytes:
// at least its header. ok is false if they are not a message's.
func Parse(raw []byte) (msg Message, ok bool) {
	if len(raw) < 16 {
		return Message{}, false
	}
	size, headerLen := sizes(raw)
	if size == 0 || len(raw) < headerLen {
		return Message{}, false
	}
	msg = Message{Type: dbus.Type(raw[1]), Flags: dbus.Flags(raw[2]), Order: binary.LittleEndian, Body: raw[headerLen:]}
	if raw[0] == 'B' {
		msg.Order = binary.BigEndian
	}
	msg.Serial = msg.Order.Uint32(raw[8:])
	return msg, msg.readFields(raw[:headerLen])
}

// readFields reads the header fields; false if they are not as the
// specification has them.
func (msg *Message) readFields(header []byte) bool {
	r := Wire{B: header, Order: msg.Order, Pos: 16}
	for r.Pos < len(header) {
		r.Align(8)
		if r.Pos >= len(header) {
			break
		}
		code := r.Byte()
		var v []byte
		switch string(r.Signature()) {
		case "s", "o":
			v = r.String()
		case "g":
			v = r.Signature()
		case "u":
			r.Align(4)
			r.Pos += 4
		default:
			return false
		}
		if r.Bad {
			return false
		}
		switch dbus.HeaderField(code) {
		case dbus.FieldPath:
			msg.Path = v
		case dbus.FieldInterface:
			msg.Interface = v
		case dbus.FieldMember:
			msg.Member = v
		case dbus.FieldSender:
			msg.Sender = v
		case dbus.FieldSignature:
			msg.Signature = v
		}
	}
	return true
}
