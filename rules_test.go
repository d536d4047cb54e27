package huduma

import (
	"strings"
	"testing"
)

// TestParseServiceCode: the one reading of a typed service code, shared
// by the USSD code screen and the SMS keywords.
func TestParseServiceCode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"1001", 1001, true}, {" 4001 ", 4001, true}, {"99999999", 99999999, true}, {"00042", 42, true},
		{"", 0, false}, {"0", 0, false}, {"000", 0, false}, {"123456789", 0, false}, {"+5", 0, false},
		{"-5", 0, false}, {"10 01", 0, false}, {"1001a", 0, false}, {"٣٣", 0, false},
	} {
		got, err := ParseServiceCode(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseServiceCode(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && ErrorCode(err) != EInvalid {
			t.Errorf("ParseServiceCode(%q): code %q, want invalid", c.in, ErrorCode(err))
		}
	}
}

// TestSearchQuery: spaces collapsed, short queries refused, long ones cut
// on a character boundary.
func TestSearchQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"passport", "passport"}, {"  birth   certificate ", "birth certificate"}, {"ab", "ab"},
		{strings.Repeat("x", 50), strings.Repeat("x", 40)},
		{strings.Repeat("a", 39) + "é", strings.Repeat("a", 39)},
	} {
		got, err := SearchQuery(c.in)
		if err != nil || got != c.want {
			t.Errorf("SearchQuery(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", " ", "a", "  b  "} {
		if _, err := SearchQuery(in); ErrorCode(err) != EInvalid {
			t.Errorf("SearchQuery(%q): %v, want invalid", in, err)
		}
	}
}

func TestInvoicePayable(t *testing.T) {
	for st, want := range map[InvoiceStatus]bool{InvoicePending: true, InvoiceFailed: true, InvoiceCancelled: true, InvoicePaid: false, InvoiceExpired: false} {
		if got := (Invoice{Status: st}).Payable(); got != want {
			t.Errorf("%s payable = %v, want %v", st, got, want)
		}
	}
}
