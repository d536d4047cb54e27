package texts

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// TestBilledTexts: the billed text quotes the bill number in the steps of
// the phone's network, in the invoice's language, in one SMS; before the
// bill comes, the steps say it comes by SMS; the not-billed text names the
// invoice and where to order again.
func TestBilledTexts(t *testing.T) {
	how := HowToPay{Paybill: "222222", Billed: true}
	for _, phone := range []huduma.MSISDN{"+254712345678", "+254733000100", "+254763000100", "+254770000100", "+254747000100"} {
		for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			inv := huduma.Invoice{Number: "1234567890", ServiceName: "Certificate of good conduct renewal (police clearance)", Phone: phone,
				Total: 1050, Language: lang}
			if got := how.For(phone, inv, lang); got != BillComing.T(lang) {
				t.Errorf("%s %s: steps before the bill %q", phone, lang, got)
			}
			inv.Bill = "EC8XK2QW"
			steps := DefaultPaySteps().Steps(phone.Network(), lang, 1050, "222222", "EC8XK2QW")
			got := BilledSMS(inv, how)
			if !strings.Contains(got, steps) || !strings.Contains(got, "1234567890") || !gsm7.Valid(got) || gsm7.SMSParts(got) != 1 {
				t.Errorf("%s %s: %q (%d parts) lacks %q", phone, lang, got, gsm7.SMSParts(got), steps)
			}
			failed := CheckoutFailedSMS(inv, "*2222#")
			if !strings.Contains(failed, "1234567890") || !strings.Contains(failed, "*2222#") || gsm7.SMSParts(failed) != 1 {
				t.Errorf("%s: %q", lang, failed)
			}
		}
	}
}
