package texts

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// TestPromptUnsentSMS: the text for a prompt that will not come names the
// invoice, the balance due, the paybill steps and the status screen that
// resends a prompt, in the invoice's language, in one SMS.
func TestPromptUnsentSMS(t *testing.T) {
	for lang, menu := range map[huduma.Language]string{huduma.English: "Check payment status", huduma.Kiswahili: "Angalia hali ya malipo"} {
		inv := huduma.Invoice{Number: "1234567890", Total: 4600, Received: 300, Language: lang}
		got := PromptUnsentSMS(inv, "222222", "*2222#")
		for _, want := range []string{"1234567890", "KES 4,300", "Paybill 222222", "1234567890", "*2222# > " + menu} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q lacks %q", lang, got, want)
			}
		}
		if !gsm7.Valid(got) || gsm7.SMSParts(got) != 1 || strings.Contains(got, "%!") {
			t.Errorf("%s: %q is not one GSM-7 SMS (%d characters)", lang, got, len(got))
		}
	}
	sw := PromptUnsentSMS(huduma.Invoice{Number: "1234567890", Total: 4600, Language: huduma.Kiswahili}, "222222", "*2222#")
	if !strings.Contains(sw, "Lipa KES 4,600 kwa Paybill") {
		t.Errorf("Kiswahili text: %q", sw)
	}
}
