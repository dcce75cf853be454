package busconn

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/godbus/dbus/v5"
)

// Encoder marshals values in little-endian D-Bus form onto B, which must
// start at an 8-aligned offset of the message it will be part of.
type Encoder struct{ B []byte }

// Align pads to the next multiple of n.
func (e *Encoder) Align(n int) {
	for len(e.B)%n != 0 {
		e.B = append(e.B, 0)
	}
}

// Byte writes a BYTE.
func (e *Encoder) Byte(b byte) { e.B = append(e.B, b) }

// Uint32 writes a UINT32.
func (e *Encoder) Uint32(v uint32) {
	e.Align(4)
	e.B = binary.LittleEndian.AppendUint32(e.B, v)
}

// Uint64 writes a UINT64.
func (e *Encoder) Uint64(v uint64) {
	e.Align(8)
	e.B = binary.LittleEndian.AppendUint64(e.B, v)
}

// String writes a STRING or an OBJECT_PATH.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.B = append(e.B, s...)
	e.B = append(e.B, 0)
}

// Signature writes a SIGNATURE.
func (e *Encoder) Signature(s string) {
	e.Byte(byte(len(s)))
	e.B = append(e.B, s...)
	e.B = append(e.B, 0)
}

// BeginArray starts an array whose elements align to elemAlign; EndArray
// with what it returns writes its length.
func (e *Encoder) BeginArray(elemAlign int) (lenAt, start int) {
	e.Uint32(0)
	lenAt = len(e.B) - 4
	e.Align(elemAlign)
	return lenAt, len(e.B)
}

// EndArray writes the length of the array BeginArray started.
func (e *Encoder) EndArray(lenAt, start int) {
	binary.LittleEndian.PutUint32(e.B[lenAt:], uint32(len(e.B)-start))
}

// Variant writes a VARIANT holding one of the basic types a property may
// have, an array of strings, or a dictionary of strings to UINT32s.
func (e *Encoder) Variant(v dbus.Variant) error {
	switch x := v.Value().(type) {
	case string:
		e.Signature("s")
		e.String(x)
	case dbus.ObjectPath:
		e.Signature("o")
		e.String(string(x))
	case bool:
		e.Signature("b")
		b := uint32(0)
		if x {
			b = 1
		}
		e.Uint32(b)
	case byte:
		e.Signature("y")
		e.Byte(x)
	case int32:
		e.Signature("i")
		e.Uint32(uint32(x))
	case uint32:
		e.Signature("u")
		e.Uint32(x)
	case int64:
		e.Signature("x")
		e.Uint64(uint64(x))
	case uint64:
		e.Signature("t")
		e.Uint64(x)
	case float64:
		e.Signature("d")
		e.Uint64(math.Float64bits(x))
	case []string:
		e.Signature("as")
		lenAt, start := e.BeginArray(4)
		for _, s := range x {
			e.String(s)
		}
		e.EndArray(lenAt, start)
	case map[string]uint32:
		// Sorted, so that the same map always encodes the same.
		e.Signature("a{su}")
		lenAt, start := e.BeginArray(8)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e.Align(8)
			e.String(k)
			e.Uint32(x[k])
		}
		e.EndArray(lenAt, start)
	default:
		return fmt.Errorf("busconn: no encoding of a variant of %T", x)
	}
	return nil
}

// Reply is the header of a method return to the call serial from
// destination, with a body of bodyLen bytes of signature sig: the message
// is Reply's bytes, then the body's.
func Reply(destination string, serial uint32, sig string, bodyLen int) []byte {
	e := Encoder{B: make([]byte, 0, 64+len(destination)+len(sig))}
	e.Byte('l')
	e.Byte(byte(dbus.TypeMethodReply))
	e.Byte(0)
	e.Byte(1) // the protocol's version
	e.Uint32(uint32(bodyLen))
	e.Uint32(NextSerial())
	lenAt, start := e.BeginArray(8)
	e.Align(8)
	e.Byte(byte(dbus.FieldReplySerial))
	e.Signature("u")
	e.Uint32(serial)
	e.Align(8)
	e.Byte(byte(dbus.FieldDestination))
	e.Signature("s")
	e.String(destination)
	e.Align(8)
	e.Byte(byte(dbus.FieldSignature))
	e.Signature("g")
	e.Signature(sig)
	e.EndArray(lenAt, start)
	e.Align(8)
	return e.B
}
