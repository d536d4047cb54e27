package texts

import (
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// TestTextsNameTheApplication: the receipt and the STATUS reply of a paid
// invoice name the application it opened, so the payer can track it, in
// both languages and one SMS however long the service's name; the
// receipt of an invoice with no application says what it said before.
func TestTextsNameTheApplication(t *testing.T) {
	when := time.Date(2026, 12, 2, 7, 15, 0, 0, time.UTC)
	paidAt := when
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		for _, name := range []string{"Birth certificate", "Ordinary passport 34 pages",
			"Application for registration of a community based organisation or self help group",
			"Ombi la usajili wa shirika la kijamii au kikundi cha kujisaidia chenye jina refu sana"} {
			inv := huduma.Invoice{Number: "4829173050", ServiceName: name, Total: 250050, Status: huduma.InvoicePaid, MpesaReceipt: "SIM1234567",
				Language: lang, PaidAt: &paidAt, Application: "5829173051"}
			for what, text := range map[string]string{"receipt": ReceiptSMS(inv, when), "status": InvoiceStatusSMS(inv, lang, "+254712345678", HowToPay{Paybill: "222222"})} {
				if n, ok := gsm7.Septets(text); !ok || n > 160 {
					t.Errorf("%s %s of %q: %d septets: %q", lang, what, name, n, text)
				}
				if !strings.Contains(text, "5829173051") || !strings.Contains(text, "4829173050") || !strings.Contains(text, "SIM1234567") {
					t.Errorf("%s %s lacks the application, invoice or M-Pesa ref: %q", lang, what, text)
				}
			}
			if r := ReceiptSMS(inv, when); len(name) <= 30 && !strings.Contains(r, name) {
				t.Errorf("%s receipt cut a short name: %q", lang, r)
			}
		}
	}
	inv := huduma.Invoice{Number: "4829173050", ServiceName: "Ordinary passport 34 pages", Total: 4600, Status: huduma.InvoicePaid, MpesaReceipt: "SIM1234567", Language: huduma.English}
	if got, want := ReceiptSMS(inv, when), "PAID: eCitizen invoice 4829173050, Ordinary passport 34 pages, KES 4600. M-Pesa ref SIM1234567 on 02/12/2026 10:15. Thank you."; got != want {
		t.Errorf("receipt without an application:\n%s\nwant\n%s", got, want)
	}
	inv.Application = "5829173051"
	if got, want := ReceiptSMS(inv, when), "PAID: eCitizen invoice 4829173050, Ordinary passport 34 pages, KES 4600. M-Pesa ref SIM1234567 on 02/12/2026 10:15. Track it as application 5829173051."; got != want {
		t.Errorf("receipt:\n%s\nwant\n%s", got, want)
	}
	a := huduma.Application{Number: "5829173051", ServiceName: "Ordinary passport 34 pages", Status: huduma.AppReady, UpdatedAt: when}
	if got, want := AppStatusSMS(a, "Pasipoti ya kawaida kurasa 34", huduma.Kiswahili), "Ombi 5829173051 (Pasipoti ya kawaida kurasa 34): TAYARI KUCHUKULIWA tangu 02/12/2026."; got != want {
		t.Errorf("application status:\n%s\nwant\n%s", got, want)
	}
}
