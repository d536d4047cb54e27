package messaging

import (
	"context"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/payments"
)

// TestStatusOfAnotherPhonesInvoice: STATUS (and a PAY that cannot prompt)
// about another phone's invoice says whether it is paid and what is due,
// in the sender's language, but never the M-Pesa receipt or why a prompt
// failed; the invoice's own phone hears them.
func TestStatusOfAnotherPhonesInvoice(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	ctx := context.Background()
	const owner, other = huduma.MSISDN("+254708374150"), huduma.MSISDN("+254708374151")
	pay := payments.New(e.l, e.l, nil, payments.Config{Paybill: "174379"}, quiet)
	number := func(text string) huduma.InvoiceNumber {
		m := invoiceNo.FindStringSubmatch(e.send(owner, text))
		if m == nil {
			t.Fatalf("%q made no invoice", text)
		}
		return huduma.InvoiceNumber(m[1])
	}
	paid, failed := number("INVOICE 4001 12345"), number("INVOICE 4001 54321")
	if _, err := pay.ConfirmC2B(ctx, huduma.PaybillPayment{TransID: "RKTQDM7W6S", Account: string(paid), Amount: 55, MSISDN: owner.Digits()}, nil); err != nil {
		t.Fatal(err)
	}
	// A prompt that failed on the payer's wrong PIN (as SettleSTK leaves it).
	if _, err := e.l.SQL().ExecContext(ctx, `UPDATE invoices SET status = 'failed', reason = '2001' WHERE number = $1`, string(failed)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from       huduma.MSISDN
		text, want string
		not        []string
	}{
		{other, "STATUS " + string(paid), "Invoice " + string(paid) + " is PAID (KES 55).", []string{"RKTQDM7W6S"}},
		{other, "HALI " + string(paid), "Ankara " + string(paid) + " IMELIPWA (KES 55).", []string{"RKTQDM7W6S"}},
		{other, "PAY " + string(paid), "Invoice " + string(paid) + " is PAID (KES 55).", []string{"RKTQDM7W6S"}},
		{other, string(paid), "Invoice " + string(paid) + " is PAID (KES 55).", []string{"RKTQDM7W6S"}},
		{other, "STATUS " + string(failed), "Invoice " + string(failed) + " is NOT PAID. Pay KES 55 to Paybill 174379, Account " + string(failed) + ".",
			[]string{"PIN"}},
		{other, "HALI " + string(failed), "Ankara " + string(failed) + " HAIJALIPWA. Lipa KES 55 kwa Paybill 174379, Akaunti " + string(failed) + ".",
			[]string{"PIN"}},
		{owner, "STATUS " + string(paid), "Invoice " + string(paid) + " is PAID (KES 55), M-Pesa ref RKTQDM7W6S.", nil},
		{owner, "STATUS " + string(failed), "Invoice " + string(failed) + " is NOT PAID: Wrong M-Pesa PIN. Pay KES 55 to Paybill 174379, Account " + string(failed) + ".", nil},
	} {
		got := e.send(c.from, c.text)
		if got != c.want {
			t.Errorf("%s sends %q: %q, want %q", c.from, c.text, got, c.want)
		}
		for _, bad := range c.not {
			if strings.Contains(got, bad) {
				t.Errorf("%s sends %q: the reply shows %q", c.from, c.text, bad)
			}
		}
	}
}
