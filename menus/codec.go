package menus

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/wire"
)

// A session is stored on every hop, so it is written compactly (package
// wire). Field numbers are for ever; a reader skips fields it does not
// know, so a field can be added without breaking records an older process
// wrote, or a newer one reads.

// Field numbers of Session.
const (
	fsState protowire.Number = iota + 1
	fsLang
	fsQuery
	fsCategory
	fsService
	fsFrom
	fsOffset
	fsPrev
	fsCatOffset
	fsCatPrev
	fsItems
	fsMore
	fsField
	fsValues
	fsPayFor
	fsInvoice
	fsDone
	fsResume
)

// Field numbers of Snapshot, Intent and a Values entry.
const (
	fpMenu, fpReply, fpScreen                   protowire.Number = 1, 2, 3
	fiKind, fiService, fiInvoice, fiLang, fiKey protowire.Number = 1, 2, 3, 4, 5
	fvKey, fvValue                              protowire.Number = 1, 2
)

// AppendBinary implements encoding.BinaryAppender.
func (s Session) AppendBinary(b []byte) ([]byte, error) {
	return s.append(b), nil
}

func (s *Session) append(b []byte) []byte {
	b = wire.AppendString(b, fsState, s.State)
	b = wire.AppendString(b, fsLang, string(s.Lang))
	b = wire.AppendString(b, fsQuery, s.Query)
	b = wire.AppendString(b, fsCategory, s.Category)
	b = wire.AppendInt(b, fsService, int64(s.Service))
	b = wire.AppendString(b, fsFrom, s.From)
	b = wire.AppendInt(b, fsOffset, int64(s.Offset))
	for _, p := range s.Prev {
		b = appendElem(b, fsPrev, p)
	}
	b = wire.AppendInt(b, fsCatOffset, int64(s.CatOffset))
	for _, p := range s.CatPrev {
		b = appendElem(b, fsCatPrev, p)
	}
	for _, it := range s.Items {
		b = protowire.AppendTag(b, fsItems, protowire.BytesType)
		b = protowire.AppendString(b, it)
	}
	b = wire.AppendBool(b, fsMore, s.More)
	b = wire.AppendInt(b, fsField, int64(s.Field))
	keys := make([]string, 0, len(s.Values))
	for k := range s.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = wire.AppendMessage(b, fsValues, func(b []byte) []byte {
			return wire.AppendString(wire.AppendString(b, fvKey, k), fvValue, s.Values[k])
		})
	}
	b = wire.AppendString(b, fsPayFor, s.PayFor)
	b = wire.AppendString(b, fsInvoice, s.Invoice)
	b = wire.AppendString(b, fsDone, s.Done)
	if s.Resume != nil {
		b = wire.AppendMessage(b, fsResume, s.Resume.append)
	}
	return b
}

// appendElem appends one element of a repeated integer, 0 included.
func appendElem(b []byte, n protowire.Number, v int) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(int64(v)))
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (s *Session) UnmarshalBinary(b []byte) error {
	*s = Session{}
	return wire.Fields(b, func(f wire.Field) error {
		switch f.Num {
		case fsState:
			s.State = string(f.Bytes)
		case fsLang:
			s.Lang = huduma.Language(f.Bytes)
		case fsQuery:
			s.Query = string(f.Bytes)
		case fsCategory:
			s.Category = string(f.Bytes)
		case fsService:
			s.Service = int(f.Int())
		case fsFrom:
			s.From = string(f.Bytes)
		case fsOffset:
			s.Offset = int(f.Int())
		case fsPrev:
			s.Prev = append(s.Prev, int(f.Int()))
		case fsCatOffset:
			s.CatOffset = int(f.Int())
		case fsCatPrev:
			s.CatPrev = append(s.CatPrev, int(f.Int()))
		case fsItems:
			s.Items = append(s.Items, string(f.Bytes))
		case fsMore:
			s.More = f.Varint != 0
		case fsField:
			s.Field = int(f.Int())
		case fsValues:
			var k, v string
			if err := wire.Fields(f.Bytes, func(e wire.Field) error {
				switch e.Num {
				case fvKey:
					k = string(e.Bytes)
				case fvValue:
					v = string(e.Bytes)
				}
				return nil
			}); err != nil {
				return err
			}
			if s.Values == nil {
				s.Values = map[string]string{}
			}
			s.Values[k] = v
		case fsPayFor:
			s.PayFor = string(f.Bytes)
		case fsInvoice:
			s.Invoice = string(f.Bytes)
		case fsDone:
			s.Done = string(f.Bytes)
		case fsResume:
			s.Resume = new(Snapshot)
			return s.Resume.UnmarshalBinary(f.Bytes)
		}
		return nil
	})
}

// AppendBinary implements encoding.BinaryAppender.
func (p Snapshot) AppendBinary(b []byte) ([]byte, error) {
	return p.append(b), nil
}

func (p *Snapshot) append(b []byte) []byte {
	b = wire.AppendMessage(b, fpMenu, p.Menu.append)
	b = wire.AppendString(b, fpReply, p.Reply)
	return wire.AppendString(b, fpScreen, p.Screen)
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *Snapshot) UnmarshalBinary(b []byte) error {
	*p = Snapshot{}
	return wire.Fields(b, func(f wire.Field) error {
		switch f.Num {
		case fpMenu:
			return p.Menu.UnmarshalBinary(f.Bytes)
		case fpReply:
			p.Reply = string(f.Bytes)
		case fpScreen:
			p.Screen = string(f.Bytes)
		}
		return nil
	})
}

// AppendBinary implements encoding.BinaryAppender.
func (in Intent) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendString(b, fiKind, string(in.Kind))
	b = wire.AppendInt(b, fiService, int64(in.Service))
	b = wire.AppendString(b, fiInvoice, string(in.Invoice))
	b = wire.AppendString(b, fiLang, string(in.Lang))
	return wire.AppendString(b, fiKey, in.Key), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (in *Intent) UnmarshalBinary(b []byte) error {
	*in = Intent{}
	return wire.Fields(b, func(f wire.Field) error {
		switch f.Num {
		case fiKind:
			in.Kind = IntentKind(f.Bytes)
		case fiService:
			in.Service = int(f.Int())
		case fiInvoice:
			in.Invoice = huduma.InvoiceNumber(f.Bytes)
		case fiLang:
			in.Lang = huduma.Language(f.Bytes)
		case fiKey:
			in.Key = string(f.Bytes)
		}
		return nil
	})
}
