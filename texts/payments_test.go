package texts

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

func TestMoney(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 7: "7", 300: "300", 4600: "4,600", 250000: "250,000", 1234567: "1,234,567", -4600: "-4,600"} {
		if got := Money(v); got != want {
			t.Errorf("Money(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestPaymentTexts renders every payment text in both languages: each
// says what happened with the figures, is GSM-7, and fits two SMS.
func TestPaymentTexts(t *testing.T) {
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		inv := huduma.Invoice{Number: "1234567890", ServiceName: "Ordinary passport 34 pages", Total: 4600, Received: 300, Language: lang, Status: huduma.InvoicePending}
		paid := inv
		paid.Received, paid.Status = 4600, huduma.InvoicePaid
		p := huduma.ReceivedPayment{TransID: "SIM1234567", Account: "12345 6789", Amount: 5000, Suspense: 400, Reason: huduma.ReasonOverpaid}
		prov := p
		prov.TransID = "stk:ws_CO_123"
		cases := map[string]struct {
			text string
			want []string
		}{
			"partial":  {PartialSMS(inv, "+254712345678", HowToPay{Paybill: "222222"}), []string{"1234567890", "300", "4,600", "4,300", "222222", "M-Pesa"}},
			"overpaid": {OverpaidSMS(p, paid, 400), []string{"1234567890", "SIM1234567", "400"}},
			"held paid": {HeldSMS(huduma.ReceivedPayment{TransID: "SIM1", Suspense: 4600, Reason: huduma.ReasonInvoicePaid}, &paid, lang, "*2222#"),
				[]string{"SIM1", "4,600", "1234567890"}},
			"held expired": {HeldSMS(huduma.ReceivedPayment{TransID: "SIM2", Suspense: 4600, Reason: huduma.ReasonInvoiceExpired}, &inv, lang, "*2222#"),
				[]string{"SIM2", "*2222#", "1234567890"}},
			"held unknown": {HeldSMS(huduma.ReceivedPayment{TransID: "SIM3", Account: "my passport", Suspense: 700, Reason: huduma.ReasonUnknownAccount}, nil, lang, "*2222#"),
				[]string{"SIM3", "700", "my passport"}},
			"applied part": {AppliedSMS(p, inv, 300), []string{"300", "SIM1234567", "1234567890", "4,300"}},
			"applied paid": {AppliedSMS(prov, paid, 4300), []string{"4,300", "1234567890"}},
			"refunded":     {RefundedSMS(p, 400, lang), []string{"400", "SIM1234567"}},
		}
		for name, tc := range cases {
			if !gsm7.Valid(tc.text) || gsm7.SMSParts(tc.text) > 2 {
				t.Errorf("%s %s: %q is not GSM-7 within two SMS", lang, name, tc.text)
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.text, w) {
					t.Errorf("%s %s: %q lacks %q", lang, name, tc.text, w)
				}
			}
			if strings.Contains(tc.text, "stk:") || strings.Contains(tc.text, "%!") {
				t.Errorf("%s %s: %q", lang, name, tc.text)
			}
		}
	}
	inv := huduma.Invoice{Number: "1234567890", Total: 4600, Received: 300}
	if got := Balance(inv, huduma.English); got != "KES 300 of 4,600 received, KES 4,300 to pay" {
		t.Fatalf("balance %q", got)
	}
	got := InvoiceStatusSMS(huduma.Invoice{Number: "1234567890", Total: 4600, Received: 300, Status: huduma.InvoiceCancelled}, huduma.English, "+254712345678", HowToPay{Paybill: "222222"})
	if !strings.Contains(got, "KES 300 of 4,600 received") || !strings.Contains(got, "KES 4,300 > PIN") {
		t.Fatalf("STATUS of a part-paid invoice: %q", got)
	}
}
