package huduma_test

import (
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// billed is an invoice e-Citizen billed as bill.
func billed(total, received int64, status huduma.InvoiceStatus, bill string) *huduma.Invoice {
	inv := invoice(total, received, status)
	inv.Bill = bill
	return inv
}

// TestBillRules: the events of the ecitizen backend, one rule each.
func TestBillRules(t *testing.T) {
	order := huduma.InvoiceOrder{Invoice: *invoice(550, 0, huduma.InvoicePending), Checkout: &huduma.CheckoutJob{Payer: owner, Prompt: true}}
	runRules(t, []ruleCase{
		{name: "new invoice queues its checkout once per invoice", event: huduma.InvoiceEvent{Order: order},
			want: []string{"outcome created", "audit invoice 1234567890 created", "metric invoice_created ",
				"job checkout 1234567890 payer=+254712345678 prompt=true (checkout:1234567890)"}},
		{name: "bill learned is stored and texted", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)},
			event: huduma.BillEvent{Invoice: number, Bill: "EC8XK2QW"},
			want: []string{"outcome billed", "bill EC8XK2QW for 1234567890", "audit invoice 1234567890 billed",
				"text invoice to +254712345678: bill EC8XK2QW for 1234567890, pay 550 (billed:1234567890)"}},
		{name: "bill shown on the screen is not texted", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)},
			event: huduma.BillEvent{Invoice: number, Bill: "EC8XK2QW", Shown: true},
			want:  []string{"outcome billed", "bill EC8XK2QW for 1234567890", "audit invoice 1234567890 billed"}},
		{name: "bill of an invoice paid meanwhile is stored, not texted", state: huduma.LedgerState{Invoice: invoice(550, 550, huduma.InvoicePaid)},
			event: huduma.BillEvent{Invoice: number, Bill: "EC8XK2QW"},
			want:  []string{"outcome billed", "bill EC8XK2QW for 1234567890", "audit invoice 1234567890 billed"}},
		{name: "the same bill again changes nothing", state: huduma.LedgerState{Invoice: billed(550, 0, huduma.InvoicePending, "EC8XK2QW")},
			event: huduma.BillEvent{Invoice: number, Bill: "EC8XK2QW"}, want: []string{"outcome duplicate"}},
		{name: "another bill keeps the first", state: huduma.LedgerState{Invoice: billed(550, 0, huduma.InvoicePending, "EC8XK2QW")},
			event: huduma.BillEvent{Invoice: number, Bill: "ECOTHER1"}, want: []string{"outcome bill_conflict", "audit invoice 1234567890 bill_conflict"}},
		{name: "bill for no invoice", event: huduma.BillEvent{Invoice: number, Bill: "EC8XK2QW"}, err: huduma.ENotFound},
		{name: "re-prompt of the invoice's own phone", state: huduma.LedgerState{Invoice: billed(550, 0, huduma.InvoicePending, "EC8XK2QW")},
			event: huduma.CheckoutEvent{Invoice: number, Payer: owner, Dedupe: "k1"},
			want:  []string{"outcome queued", "audit invoice 1234567890 push_queued", "job checkout 1234567890 payer=+254712345678 prompt=true (reprompt:k1)"}},
		{name: "re-prompt of a stranger refused", state: huduma.LedgerState{Invoice: billed(550, 0, huduma.InvoicePending, "EC8XK2QW")},
			event: huduma.CheckoutEvent{Invoice: number, Payer: other}, err: huduma.EForbidden},
		{name: "re-prompt before the bill", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)},
			event: huduma.CheckoutEvent{Invoice: number, Payer: owner}, err: huduma.EConflict},
		{name: "re-prompt of a paid invoice", state: huduma.LedgerState{Invoice: billed(550, 550, huduma.InvoicePaid, "EC8XK2QW")},
			event: huduma.CheckoutEvent{Invoice: number, Payer: owner}, err: huduma.EConflict},
		{name: "checkout gave up: the payer is texted once", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)},
			event: huduma.CheckoutFailedEvent{Invoice: number, Reason: "e-Citizen down"},
			want: []string{"outcome checkout_failed", "audit invoice 1234567890 checkout_failed",
				"text payment to +254712345678: not billed 1234567890 (checkout-failed:1234567890)"}},
		{name: "checkout gave up after the bill came", state: huduma.LedgerState{Invoice: billed(550, 0, huduma.InvoicePending, "EC8XK2QW")},
			event: huduma.CheckoutFailedEvent{Invoice: number}, want: []string{"outcome duplicate"}},
	})
}

// TestCheckoutWaitsForItsCreator: the checkout job of a new invoice is
// due when the order says (the creator runs it inline first, so the
// worker must not win it), and at once when the order names no time.
func TestCheckoutWaitsForItsCreator(t *testing.T) {
	later := t0.Add(2 * time.Second)
	for _, c := range []struct {
		at, want time.Time
	}{{time.Time{}, t0}, {later, later}, {t0.Add(-time.Second), t0}} {
		order := huduma.InvoiceOrder{Invoice: *invoice(550, 0, huduma.InvoicePending), Checkout: &huduma.CheckoutJob{Payer: owner}, CheckoutAt: c.at}
		plan, err := huduma.Settle(huduma.LedgerState{Now: t0}, huduma.InvoiceEvent{Order: order}, fakeTexts{})
		if err != nil || len(plan.Jobs) != 1 || !plan.Jobs[0].RunAt.Equal(c.want) {
			t.Fatalf("CheckoutAt %v: jobs %+v (%v), want one due at %v", c.at, plan.Jobs, err, c.want)
		}
	}
}
