package huduma

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParseMSISDN(t *testing.T) {
	good := []string{"0712345678", "712345678", "254712345678", "+254712345678", "00254712345678", "+254 712 345-678", "0110123456"}
	for _, in := range good {
		got, err := ParseMSISDN(in)
		if err != nil || (got != "+254712345678" && got != "+254110123456") {
			t.Errorf("ParseMSISDN(%q) = %q %v", in, got, err)
		}
	}
	bad := []string{"", "abc", "+1 202 555 0123", "0202222222", "07123", "+2547123456789999", "25471234567x"}
	for _, in := range bad {
		if got, err := ParseMSISDN(in); err == nil || ErrorCode(err) != EInvalid {
			t.Errorf("ParseMSISDN(%q) = %q, %v; want invalid", in, got, err)
		}
	}
	m, _ := ParseMSISDN("0712345678")
	if m.Masked() != "+254712***678" || m.Digits() != "254712345678" {
		t.Errorf("masked %q digits %q", m.Masked(), m.Digits())
	}
	nets := map[string]Network{"0712345678": Safaricom, "0110123456": Safaricom, "0733123456": Airtel, "0771123456": Telkom,
		"0763123456": Equitel, "0766999999": Equitel, "0762123456": Airtel, "0767123456": OtherNetwork}
	for in, want := range nets {
		m, _ := ParseMSISDN(in)
		if m.Network() != want {
			t.Errorf("%s network %s, want %s", in, m.Network(), want)
		}
	}
}

// TestEquitelPrefixes: the blocks read as Equitel are Finserve Africa's
// in libphonenumber's carrier data, and its neighbours are not, so a
// payer on Equitel is told Equitel's steps and nobody else is. Only
// Safaricom numbers can be prompted.
func TestEquitelPrefixes(t *testing.T) {
	for p := 700; p <= 799; p++ {
		raw := fmt.Sprintf("+254%d123456", p)
		num, err := phonenumbers.Parse(raw, "KE")
		if err != nil {
			t.Fatal(err)
		}
		carrier, err := phonenumbers.GetCarrierForNumber(num, "en")
		if err != nil {
			t.Fatal(err)
		}
		m := MSISDN(raw)
		if got := m.Network() == Equitel; got != (carrier == "Finserve") {
			t.Errorf("%s: network %s, carrier %q", raw, m.Network(), carrier)
		}
		if m.CanPrompt() != (m.Network() == Safaricom) {
			t.Errorf("%s: CanPrompt %v on %s", raw, m.CanPrompt(), m.Network())
		}
	}
}

func TestInvoiceNumbers(t *testing.T) {
	for i := 0; i < 1000; i++ {
		n := NewInvoiceNumber()
		if _, err := ParseInvoiceNumber(string(n)); err != nil || len(n) != 10 {
			t.Fatalf("generated %q does not parse: %v", n, err)
		}
		// Every single-digit mistake and every adjacent swap is caught.
		for p := 0; p < 10; p++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == n[p] {
					continue
				}
				b := []byte(n)
				b[p] = d
				if _, err := ParseInvoiceNumber(string(b)); err == nil {
					t.Fatalf("typo %s of %s accepted", b, n)
				}
			}
			if p < 9 && n[p] != n[p+1] {
				b := []byte(n)
				b[p], b[p+1] = b[p+1], b[p]
				if _, err := ParseInvoiceNumber(string(b)); err == nil {
					t.Fatalf("swap %s of %s accepted", b, n)
				}
			}
		}
	}
	for _, bad := range []string{"", "123", "12345678901", "12345abcde", "1234567890"} {
		if _, err := ParseInvoiceNumber(bad); err == nil && bad != "1234567890" {
			t.Errorf("%q accepted", bad)
		}
	}
	if DammDigit("572") != '4' {
		t.Errorf("Damm(572) = %c, want 4", DammDigit("572"))
	}
}

func TestConvenienceFee(t *testing.T) {
	cases := map[int64]int64{0: 5, 50: 5, 199: 5, 200: 10, 299: 10, 300: 15, 499: 15, 500: 20, 699: 20, 700: 25, 999: 25, 1000: 50, 250000: 50}
	for amount, want := range cases {
		if got := ConvenienceFee(nil, amount); got != want {
			t.Errorf("fee(%d) = %d, want %d", amount, got, want)
		}
	}
	if got := ConvenienceFee([]FeeBand{{Min: 0, Fee: 1}, {Min: 100, Fee: 2}}, 150); got != 2 {
		t.Errorf("custom bands: %d", got)
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("lookup: %w", Errorf(ENotFound, "service 9 not found"))
	if !errors.Is(err, ErrNotFound) || ErrorCode(err) != ENotFound || ErrorMessage(err) != "service 9 not found" {
		t.Fatalf("wrapped not-found: %v", err)
	}
	if ErrorCode(errors.New("x")) != EInternal || ErrorMessage(errors.New("secret detail")) != "Internal error." {
		t.Fatal("internal errors must not leak")
	}
}

// TestFastMobileMatchesLibphonenumber: the shortcut for 07XX numbers gives
// what libphonenumber gives, for every prefix of the range and in both
// written forms, and leaves everything else to it.
func TestFastMobileMatchesLibphonenumber(t *testing.T) {
	for p := 0; p < 1000; p++ {
		for _, tail := range []string{"000000", "123456", "999999", "504030"} {
			local := fmt.Sprintf("7%03d%s", p, tail)[:9]
			for _, raw := range []string{"+254" + local, "0" + local} {
				fast, ok := fastMobile(raw)
				if !ok {
					t.Fatalf("%s: not taken by the shortcut", raw)
				}
				num, err := phonenumbers.Parse(raw, "KE")
				if err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.GetRegionCodeForNumber(num) != "KE" {
					t.Fatalf("%s: the shortcut accepts what libphonenumber rejects", raw)
				}
				if typ := phonenumbers.GetNumberType(num); typ != phonenumbers.MOBILE && typ != phonenumbers.FIXED_LINE_OR_MOBILE {
					t.Fatalf("%s: type %v", raw, typ)
				}
				if want := MSISDN(phonenumbers.Format(num, phonenumbers.E164)); fast != want {
					t.Fatalf("%s: shortcut %s, libphonenumber %s", raw, fast, want)
				}
			}
		}
	}
	for _, raw := range []string{"+2547123456789", "+254712a45678", "0712 345678", "+254112345678", "0112345678", "712345678", "+2557123456789"} {
		if _, ok := fastMobile(raw); ok {
			t.Fatalf("%s taken by the shortcut", raw)
		}
	}
}

func TestWholeShillings(t *testing.T) {
	for in, want := range map[string]int64{"10": 10, " 10.00 ": 10, "10.0": 10, "0": 0} {
		if got, err := WholeShillings(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"10.50", "-1", "", "1e3", "1,000", "-0", "-0.00", "+5", ".00", "9223372036854775808", "1 000"} {
		if got, err := WholeShillings(in); err == nil {
			t.Errorf("%q: %d accepted", in, got)
		}
	}
}

// TestPaymentAmount: one M-Pesa payment is KES 1 to MaxPayment; zero in
// any spelling, a sign, and amounts no M-Pesa payment can carry (up to
// the largest int64) are refused as invalid.
func TestPaymentAmount(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "4600.00": 4600, "250000": MaxPayment} {
		if got, err := PaymentAmount(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "00", "-0", "0.00", "-5", "250001", "9223372036854775807", "9223372036854775808"} {
		if got, err := PaymentAmount(in); err == nil {
			t.Errorf("%q: %d accepted", in, got)
		}
	}
	if err := CheckPayment(math.MaxInt64); ErrorCode(err) != EInvalid {
		t.Errorf("CheckPayment(MaxInt64) = %v", err)
	}
}

// TestTransIDs: an M-Pesa id is one id in any case; a provisional id
// keeps Daraja's case; anything but letters and digits is refused.
func TestTransIDs(t *testing.T) {
	for in, want := range map[string]string{"rktqdm7w6s": "RKTQDM7W6S", " RkTqDm7W6s ": "RKTQDM7W6S", "stk:ws_CO_191220191020363925": "stk:ws_CO_191220191020363925"} {
		if got := NormalizeTransID(in); got != want {
			t.Errorf("NormalizeTransID(%q) = %q, want %q", in, got, want)
		}
	}
	if got, err := ParseTransID("rktqdm7w6s"); err != nil || got != "RKTQDM7W6S" {
		t.Errorf("ParseTransID: %q %v", got, err)
	}
	for _, in := range []string{"", " ", "RKT-QDM7W6S", "RKT\x00QDM", "stk:ws_CO_1", strings.Repeat("A", 33), "RKTQDM7W6\u00c9"} {
		if got, err := ParseTransID(in); ErrorCode(err) != EInvalid {
			t.Errorf("ParseTransID(%q) = %q %v, want invalid", in, got, err)
		}
	}
}

// TestCleanText: NUL, terminal escapes and broken bytes are replaced
// visibly; line breaks stay in a text and become spaces in a line.
func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, text, line string }{
		{"plain", "plain", "plain"},
		{"HELP\x00me", "HELP\ufffdme", "HELP\ufffdme"},
		{"JANE \x1b[2J\x1b]0;pwned\x07DOE", "JANE \ufffd[2J\ufffd]0;pwned\ufffdDOE", "JANE \ufffd[2J\ufffd]0;pwned\ufffdDOE"},
		{"a\u009bb\x7fc", "a\ufffdb\ufffdc", "a\ufffdb\ufffdc"},
		{"two\nlines\tand tab", "two\nlines\tand tab", "two lines and tab"},
		{"bad \xff byte", "bad \ufffd byte", "bad \ufffd byte"},
		{"Malipo ✓ é", "Malipo ✓ é", "Malipo ✓ é"},
	} {
		if got := CleanText(tc.in); got != tc.text {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.text)
		}
		if got := CleanLine(tc.in); got != tc.line {
			t.Errorf("CleanLine(%q) = %q, want %q", tc.in, got, tc.line)
		}
	}
}
