package busconn

import "encoding/binary"

// Wire reads the D-Bus marshalling of a byte slice that starts at an
// 8-aligned offset of its message; Bad says it ran off the end or met
// something else than it expected.
type Wire struct {
	B     []byte
	Order binary.ByteOrder
	Pos   int
	Bad   bool
}

// Align skips to the next multiple of n.
func (w *Wire) Align(n int) { w.Pos = align(w.Pos, n) }

// Byte reads a BYTE.
func (w *Wire) Byte() byte {
	if w.Pos >= len(w.B) {
		w.Bad = true
		return 0
	}
	w.Pos++
	return w.B[w.Pos-1]
}

// Signature reads a SIGNATURE.
func (w *Wire) Signature() []byte {
	n := int(w.Byte())
	return w.bytes(n)
}

// String reads a STRING or an OBJECT_PATH.
func (w *Wire) String() []byte {
	w.Align(4)
	if w.Pos+4 > len(w.B) {
		w.Bad = true
		return nil
	}
	n := int(w.Order.Uint32(w.B[w.Pos:]))
	w.Pos += 4
	return w.bytes(n)
}

// bytes reads n bytes and the nul after them.
func (w *Wire) bytes(n int) []byte {
	if w.Bad || n < 0 || w.Pos+n+1 > len(w.B) || w.B[w.Pos+n] != 0 {
		w.Bad = true
		return nil
	}
	s := w.B[w.Pos : w.Pos+n]
	w.Pos += n + 1
	return s
}

func align(n, to int) int { return (n + to - 1) &^ (to - 1) }
