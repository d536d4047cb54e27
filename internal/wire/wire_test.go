package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestMessagesOfEverySize: a message's length goes in front of its body
// after the body is written, so bodies whose length takes one, two and
// three bytes must all come back whole, with the fields after them.
func TestMessagesOfEverySize(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 20000} {
		body := strings.Repeat("x", n)
		b := AppendString(nil, 1, "before")
		b = AppendMessage(b, 2, func(b []byte) []byte { return AppendString(b, 7, body) })
		b = AppendInt(b, 3, -5)
		b = AppendBool(b, 4, true)
		var got []Field
		if err := Fields(b, func(f Field) error { got = append(got, f); return nil }); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(got) != 4 || string(got[0].Bytes) != "before" || got[2].Int() != -5 || got[3].Varint != 1 {
			t.Fatalf("%d bytes: fields %+v", n, got)
		}
		var inner []byte
		if err := Fields(got[1].Bytes, func(f Field) error { inner = f.Bytes; return nil }); err != nil {
			t.Fatal(err)
		}
		if n > 0 && !bytes.Equal(inner, []byte(body)) {
			t.Fatalf("%d bytes: body of %d bytes read back", n, len(inner))
		}
	}
}

// TestCorrupt: bytes cut short or not in the format are an error that
// says so, never a panic or a partial record taken for whole.
func TestCorrupt(t *testing.T) {
	whole := AppendMessage(AppendString(nil, 1, "state"), 2, func(b []byte) []byte { return AppendString(b, 1, "inner") })
	for i := 1; i < len(whole); i++ {
		if i == len("\x0a\x05state") {
			continue // a whole first field and nothing after it is a shorter, valid record
		}
		err := Fields(whole[:i], func(Field) error { return nil })
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d of %d: %v, want ErrCorrupt", i, len(whole), err)
		}
	}
	if err := Fields([]byte{0xff, 0xff, 0xff}, func(Field) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
}
