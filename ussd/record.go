package ussd

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huduma-ke/huduma/internal/wire"
	"github.com/huduma-ke/huduma/menus"
)

// Field numbers of a stored record (package wire).
const (
	frMenu protowire.Number = iota + 1
	frPath
	frReply
	frEnd
	frScreen
	frHops
	frNoted
	frIntents
)

// encode writes rec compactly, appending to b.
func (rec *record) encode(b []byte) []byte {
	b = wire.AppendMessage(b, frMenu, func(b []byte) []byte {
		b, _ = rec.Menu.AppendBinary(b)
		return b
	})
	b = wire.AppendString(b, frPath, rec.Path)
	b = wire.AppendString(b, frReply, rec.Reply)
	b = wire.AppendBool(b, frEnd, rec.End)
	b = wire.AppendString(b, frScreen, rec.Screen)
	b = wire.AppendInt(b, frHops, int64(rec.Hops))
	b = wire.AppendBool(b, frNoted, rec.Noted)
	for _, in := range rec.Intents {
		b = wire.AppendMessage(b, frIntents, func(b []byte) []byte {
			b, _ = in.AppendBinary(b)
			return b
		})
	}
	return b
}

// decodeRecord reads what encode wrote, or the JSON an earlier release
// stored (it always starts with '{', which no field of ours does: that
// would be field 15 as a group).
func decodeRecord(b []byte) (record, error) {
	var rec record
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &rec); err != nil {
			return record{}, fmt.Errorf("decode session (json): %w", err)
		}
		return rec, nil
	}
	err := wire.Fields(b, func(f wire.Field) error {
		switch f.Num {
		case frMenu:
			return rec.Menu.UnmarshalBinary(f.Bytes)
		case frPath:
			rec.Path = string(f.Bytes)
		case frReply:
			rec.Reply = string(f.Bytes)
		case frEnd:
			rec.End = f.Varint != 0
		case frScreen:
			rec.Screen = string(f.Bytes)
		case frHops:
			rec.Hops = int(f.Int())
		case frNoted:
			rec.Noted = f.Varint != 0
		case frIntents:
			var in menus.Intent
			if err := in.UnmarshalBinary(f.Bytes); err != nil {
				return err
			}
			rec.Intents = append(rec.Intents, in)
		}
		return nil
	})
	if err != nil {
		return record{}, fmt.Errorf("decode session: %w", err)
	}
	return rec, nil
}

// Stored is what tools and tests that look into the session store see of
// a stored session record.
type Stored struct {
	// State is the menu state the session is at.
	State string
	// Hops is how many hops the session has applied.
	Hops int
}

// Inspect reads a stored session record.
func Inspect(value []byte) (Stored, error) {
	rec, err := decodeRecord(value)
	return Stored{State: rec.Menu.State, Hops: rec.Hops}, err
}
