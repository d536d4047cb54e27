// Package wire writes and reads records in the protocol buffers wire
// format by hand, for what is stored on every hop (the USSD session):
// fewer bytes than JSON and far less work to write and read, without
// generated code. Writers append fields with the Append functions;
// readers walk them with Fields and pick the numbers they know, so a
// field can be added without breaking records already stored.
package wire

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// AppendString appends field n holding v, nothing when v is empty.
func AppendString(b []byte, n protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// AppendInt appends field n holding v (zigzag, so negative numbers stay
// short), nothing when v is 0.
func AppendInt(b []byte, n protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(v))
}

// AppendBool appends field n when v is true.
func AppendBool(b []byte, n protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, 1)
}

// AppendMessage appends field n holding what add appends, length first.
func AppendMessage(b []byte, n protowire.Number, add func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	at := len(b)
	b = add(b)
	body := len(b) - at
	// Move the body up to make room for its length.
	size := protowire.SizeVarint(uint64(body))
	b = append(b, make([]byte, size)...)
	copy(b[at+size:], b[at:at+body])
	protowire.AppendVarint(b[:at], uint64(body))
	return b
}

// Field is one field as Fields reads it: its number and, by its wire
// type, its integer (Varint) or its bytes (Bytes).
type Field struct {
	Num    protowire.Number
	Varint uint64
	Bytes  []byte
}

// Int is the field's zigzag integer.
func (f Field) Int() int64 { return protowire.DecodeZigZag(f.Varint) }

// ErrCorrupt is a stored record that cannot be read.
var ErrCorrupt = errors.New("corrupt record")

// Fields calls each for every field of b, in order, skipping none: a
// field whose wire type is neither varint nor bytes is skipped unread.
func Fields(b []byte, each func(Field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", ErrCorrupt, protowire.ParseError(n))
		}
		b = b[n:]
		f := Field{Num: num}
		switch typ {
		case protowire.VarintType:
			f.Varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.Bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				b = b[n:]
				continue
			}
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", ErrCorrupt, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := each(f); err != nil {
			return err
		}
	}
	return nil
}
