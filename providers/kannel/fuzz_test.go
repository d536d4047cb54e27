package kannel

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
)

// Kannel's callbacks carry whatever its dlr-url and get-url substitute.
// Whatever they hold, the decoders never panic, and what they accept can
// be stored as it is: valid UTF-8, bounded, nothing unsubstituted.

func FuzzDecodeReport(f *testing.F) {
	f.Add("id=K0123456789abcdef01234567&status=1&answer=ACK%2F")
	f.Add("id=K1&status=16&answer=NACK%2F0x0000000b%2FInvalid+Destination+254712345678")
	f.Add("id=K1&status=8")
	f.Add("id=K1&status=%25d&answer=%25A")
	f.Add("id=K%FF&status=2&answer=%FF%00")
	f.Add("id=&status=99999999999999999999")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		d, err := DecodeReport(q)
		if err != nil {
			return
		}
		if d.ID == "" || len(d.ID) > 64 || !utf8.ValidString(d.ID) || strings.ContainsRune(d.ID, 0) {
			t.Fatalf("accepted id %q", d.ID)
		}
		if !utf8.ValidString(d.Reason) || strings.ContainsRune(d.Reason, 0) || len(d.Reason) > 300 || !strings.HasPrefix(d.Reason, "kannel ") {
			t.Fatalf("reason %q", d.Reason)
		}
		if state, final, _ := MapDLR(d.Code); state != d.State || final != d.Final || state == "" {
			t.Fatalf("code %d mapped to %s/%v", d.Code, d.State, d.Final)
		}
	})
}

func FuzzDecodeIncoming(f *testing.F) {
	f.Add("id=a3802498-bee4-4fa9-b2c9-a81a04871598&from=%2B254712345678&text=FIND+++pasport&coding=0&charset=UTF-8")
	f.Add("id=d48f60cd-5945-43b7-9823-e4eb7dde91c6&from=0712345678&text=%00H%00I%00+%06E&coding=2&charset=UTF-16BE")
	f.Add("id=x&from=254712345678&text=%D8%3D%DE%00&coding=2&charset=UTF-16BE")
	f.Add("id=x&from=254712345678&text=caf%E9&coding=0&charset=ISO-8859-1")
	f.Add("id=%25I&from=%25p&text=%25b")
	f.Add("id=x&from=254712345678&text=%01%02&coding=1&charset=binary")
	f.Add("id=x&from=254712345678&text=%00H%00&coding=2")
	f.Add("id=x&from=254712345678&text=%00%00%00H&coding=2&charset=UTF-16BE")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		in, err := DecodeIncoming(q)
		if err != nil {
			return
		}
		if !strings.HasPrefix(in.ID, "kannel:") || len(in.ID) > len("kannel:")+64 || !utf8.ValidString(in.ID) || strings.ContainsAny(in.ID, "%\x00") {
			t.Fatalf("accepted id %q", in.ID)
		}
		if _, err := huduma.ParseMSISDN(string(in.From)); err != nil {
			t.Fatalf("accepted sender %q", in.From)
		}
		if !utf8.ValidString(in.Text) || len(in.Text) > maxText || strings.ContainsRune(in.Text, 0) {
			t.Fatalf("accepted text %q", in.Text)
		}
	})
}
