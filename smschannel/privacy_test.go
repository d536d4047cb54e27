package smschannel

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
	inv, err := e.l.Invoice(ctx, paid)
	if err != nil || inv.Application == "" {
		t.Fatalf("the paid invoice: %+v %v (its application opened)", inv, err)
	}
	app := inv.Application
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
		{other, "STATUS " + string(failed), "Invoice " + string(failed) + " is NOT PAID. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account " + string(failed) + " > KES 55 > PIN.",
			[]string{"Wrong", "2001"}},
		{other, "HALI " + string(failed), "Ankara " + string(failed) + " HAIJALIPWA. Lipa kwa M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > akaunti " + string(failed) + " > KES 55 > PIN.",
			[]string{"si sahihi", "2001"}},
		{owner, "STATUS " + string(paid), "Invoice " + string(paid) + " is PAID (KES 55), M-Pesa ref RKTQDM7W6S. Application " + app + ".", nil},
		{owner, "STATUS " + string(failed), "Invoice " + string(failed) + " is NOT PAID: Wrong M-Pesa PIN. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account " + string(failed) + " > KES 55 > PIN.", nil},
	} {
		got := e.send(c.from, c.text)
		if !sameWords(got, c.want) {
			t.Errorf("%s sends %q: %q, want %q", c.from, c.text, got, c.want)
		}
		for _, bad := range c.not {
			if strings.Contains(got, bad) {
				t.Errorf("%s sends %q: the reply shows %q", c.from, c.text, bad)
			}
		}
	}
}

// TestPayForOthersIsCapped: PAY for someone else's invoice prompts the
// sender, but a phone gets only so many such prompts an hour; beyond that
// PAY says so and how to pay by paybill, in the sender's language, and
// queues nothing. PAY for the sender's own invoice is never capped.
func TestPayForOthersIsCapped(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	// One stranger's prompt an hour (HUDUMA_PROMPT_CAP=1).
	e.in = NewInbox(InboxDeps{Store: e.st, Catalog: e.l, Payments: payments.New(e.l, e.l, nil, payments.Config{Paybill: "174379", PromptCap: 1}, quiet),
		Conversations: e.convs}, InboxConfig{Paybill: "174379"}, quiet)
	const owner, other = huduma.MSISDN("+254708374152"), huduma.MSISDN("+254708374153")
	number := func(from huduma.MSISDN, text string) string {
		m := invoiceNo.FindStringSubmatch(e.send(from, text))
		if m == nil {
			t.Fatalf("%q made no invoice", text)
		}
		return m[1]
	}
	first, second := number(owner, "INVOICE 4001 12345"), number(owner, "INVOICE 4001 54321")
	if got := e.send(other, "PAY "+first); !strings.HasPrefix(got, "Check your phone: an M-Pesa prompt for KES 55") {
		t.Fatalf("the first PAY for another's invoice: %q", got)
	}
	for text, want := range map[string]string{
		"PAY " + second: "This phone has had too many M-Pesa prompts for others' invoices this hour. Try later, or: " +
			"Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account " + second + " > KES 55 > PIN.",
		"LIPA " + second: "Simu hii imepokea maombi mengi ya M-Pesa ya ankara za wengine saa hii. Jaribu baadaye, au: " +
			"Lipa kwa M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > akaunti " + second + " > KES 55 > PIN.",
	} {
		if got := e.send(other, text); !sameWords(got, want) {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
	if jobs := e.pushJobs(); jobs != 1 {
		t.Fatalf("%d prompts queued, want 1", jobs)
	}
	own := number(other, "INVOICE 4001 11111")
	if got := e.send(other, "PAY "+own); !strings.HasPrefix(got, "Check your phone: an M-Pesa prompt for KES 55 (invoice "+own+")") {
		t.Fatalf("PAY for the sender's own invoice: %q", got)
	}
}
