package ussd

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/menus"
)

// emptyAsNil makes the empty slices and maps that random values hold nil,
// as a decoded record has them, so that DeepEqual compares content.
func emptyAsNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			emptyAsNil(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			emptyAsNil(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
		for i := range v.Len() {
			emptyAsNil(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
	}
}

// TestRecordRoundTrip: random records, every field of the record, the
// menu session, its resume snapshot and the intents filled at random (a
// field added later is filled too, and fails here until the codec writes
// it), read back exactly as written.
func TestRecordRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := range 2000 {
		v, ok := quick.Value(reflect.TypeFor[record](), rnd)
		if !ok {
			t.Fatal("no random record")
		}
		rec := v.Interface().(record)
		emptyAsNil(reflect.ValueOf(&rec))
		got, err := decodeRecord(rec.encode(nil))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("record %d read back differs:\n got %+v\nwant %+v", i, got, rec)
		}
	}
}

// sampleRecord is a session midway through a journey, offered earlier to
// resume another, with an intent: what a real hop stores, every part used.
func sampleRecord() record {
	menu := menus.Session{State: "input", Lang: "en", Query: "passport", Service: 1001, From: "results", Offset: 6, Prev: []int{0, 3},
		Items: []string{"1001", "1002", "1003"}, More: true, Field: 1, Values: map[string]string{"id_number": "12345678"}}
	return record{Menu: menus.Session{State: "main", Lang: "sw", Resume: &menus.Snapshot{Menu: menu, Reply: "Enter your ID number", Screen: "input"}},
		Path: "1*3*1001", Reply: "1. Find a service\n2. My invoices", Screen: "main", Hops: 4, Noted: true,
		Intents: []menus.Intent{{Kind: menus.IntentServiceDetails, Service: 1001, Lang: "en", Key: "ussd:at:ATUid_1:+254712345678:4.0:details"}}}
}

// TestRecordReadsEarlierJSON: a record an earlier release stored as JSON
// (sessions alive across an upgrade) reads as it was, and the compact form
// is smaller.
func TestRecordReadsEarlierJSON(t *testing.T) {
	rec := sampleRecord()
	old, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(old)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("JSON record: %+v %v", got, err)
	}
	compact := rec.encode(nil)
	testenv.Figure(t, "a sample session record: %d bytes compact, %d bytes as JSON", len(compact), len(old))
	if len(compact) >= len(old) {
		t.Fatalf("compact record %d bytes, JSON %d", len(compact), len(old))
	}
}

// FuzzDecodeRecord: any stored bytes either fail to decode with an error
// or decode to a record that encodes and decodes to itself.
func FuzzDecodeRecord(f *testing.F) {
	rec := sampleRecord()
	f.Add(rec.encode(nil))
	old, _ := json.Marshal(rec)
	f.Add(old)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		enc := rec.encode(nil)
		again, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !bytes.Equal(again.encode(nil), enc) {
			t.Fatalf("decode and encode are not stable")
		}
	})
}
