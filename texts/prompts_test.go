package texts

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// TestPromptUnsentSMS: the text for a prompt that will not come names the
// invoice, the M-Pesa steps with the balance due and the account, and the
// status screen that resends a prompt, in the invoice's language, in at
// most two SMS parts.
func TestPromptUnsentSMS(t *testing.T) {
	const payer = huduma.MSISDN("+254712345678")
	for lang, menu := range map[huduma.Language]string{huduma.English: "Check payment status", huduma.Kiswahili: "Angalia hali ya malipo"} {
		inv := huduma.Invoice{Number: "1234567890", Total: 4600, Received: 300, Language: lang}
		got := PromptUnsentSMS(inv, payer, HowToPay{Paybill: "222222"}, "*2222#")
		for _, want := range []string{"1234567890", "Lipa na M-Pesa > Pay Bill > 222222 > ", "KES 4,300 > PIN", "*2222# > " + menu} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q lacks %q", lang, got, want)
			}
		}
		if !gsm7.Valid(got) || gsm7.SMSParts(got) > 2 || strings.Contains(got, "%!") {
			t.Errorf("%s: %q is not GSM-7 in two SMS parts (%d characters)", lang, got, len(got))
		}
	}
	billed := huduma.Invoice{Number: "1234567890", Bill: "EC8XK2QW", Total: 4600, Language: huduma.Kiswahili}
	if sw := PromptUnsentSMS(billed, payer, HowToPay{Paybill: "222222"}, "*2222#"); !strings.Contains(sw, "akaunti EC8XK2QW > KES 4,600") {
		t.Errorf("a billed invoice's text quotes the bill number as the account: %q", sw)
	}
}
