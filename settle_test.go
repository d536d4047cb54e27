package huduma_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// The rule tables: each case is a state the store could load, an event,
// and the plan the rules must give for it, written as lines (see
// describe). No database anywhere.

var (
	t0     = time.Date(2026, 12, 7, 10, 0, 0, 0, huduma.EAT)
	owner  = huduma.MSISDN("+254712345678")
	other  = huduma.MSISDN("+254722000111")
	number = huduma.InvoiceNumber("1234567890")
)

// fakeTexts renders each text as its kind and the words that matter, so
// the tables show what was said to whom.
type fakeTexts struct{}

func (fakeTexts) Receipt(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: fmt.Sprintf("receipt %s %s", inv.Number, inv.MpesaReceipt)}
}

func (fakeTexts) PromptUnsent(inv huduma.Invoice, payer huduma.MSISDN) huduma.Message {
	return huduma.Message{To: payer, Kind: huduma.MessagePayment, Body: fmt.Sprintf("no prompt for %s, pay %d", inv.Number, inv.Due())}
}

func (fakeTexts) Billed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: fmt.Sprintf("bill %s for %s, pay %d", inv.Bill, inv.Number, inv.Due())}
}

func (fakeTexts) CheckoutFailed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessagePayment, Body: fmt.Sprintf("not billed %s", inv.Number)}
}

func (fakeTexts) Notice(n huduma.PaymentNotice) (huduma.Message, bool) {
	to := n.Payment.Phone
	if to == "" && n.Invoice != nil {
		to = n.Invoice.Phone
	}
	if to == "" {
		return huduma.Message{}, false
	}
	return huduma.Message{To: to, Kind: huduma.MessagePayment, Body: fmt.Sprintf("%s %d", n.Kind, n.Amount)}, true
}

func invoice(total, received int64, status huduma.InvoiceStatus) *huduma.Invoice {
	inv := &huduma.Invoice{Number: number, ServiceCode: 101, ServiceName: "Passport", Phone: owner, Fee: total - 50, ConvenienceFee: 50,
		Total: total, Received: received, Status: status, Language: huduma.English, CreatedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(71 * time.Hour)}
	if status == huduma.InvoicePaid {
		paid := t0.Add(-time.Minute)
		inv.PaidAt, inv.MpesaReceipt = &paid, "OLDRECEIPT"
	}
	return inv
}

func attempt(status huduma.AttemptStatus) *huduma.Attempt {
	return &huduma.Attempt{ID: 7, Invoice: number, Payer: owner, Amount: 550, Status: status, CheckoutRequestID: "ws_CO_1",
		CreatedAt: t0.Add(-2 * time.Minute), UpdatedAt: t0.Add(-time.Minute)}
}

func held(trans string, amount, suspense int64, state huduma.PaymentState, reason huduma.SuspenseReason) *huduma.ReceivedPayment {
	since := t0.Add(-time.Hour)
	return &huduma.ReceivedPayment{ID: 40, TransID: trans, Source: huduma.SourceC2B, Account: "WHATEVER", Amount: amount, Applied: amount - suspense,
		Suspense: suspense, State: state, Reason: reason, Payer: "2547 ***** 678", Phone: owner, PaidAt: since, ReceivedAt: since, SuspenseSince: &since}
}

func stk(code string, amount int64, receipt string) huduma.STKResultEvent {
	return huduma.STKResultEvent{Result: huduma.STKResult{CheckoutRequestID: "ws_CO_1", ResultCode: code, ResultDesc: "desc " + code,
		Amount: amount, Receipt: receipt, Phone: owner.Digits(), PaidAt: t0}}
}

func c2b(trans string, amount int64, account string) huduma.PaymentEvent {
	n, _ := huduma.ParseInvoiceNumber(account)
	return huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: trans, Invoice: n, Account: account, Amount: amount, MSISDN: "2547 ***** 678", PaidAt: t0}}
}

// describe writes a plan as sorted lines, one per change.
func describe(p huduma.Plan) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	add("outcome %s", p.Outcome)
	if a := p.Attempt; a != nil {
		add("attempt %d %s %s", a.ID, a.Status, a.ResultCode)
	}
	if i := p.Invoice; i != nil {
		add("invoice %s %s received=%d reason=%s receipt=%s", i.Number, i.Status, i.Received, i.Reason, i.Receipt)
	}
	if n := p.NewPayment; n != nil {
		add("new payment %s %s invoice=%s applied=%d suspense=%d %s %s", n.TransID, n.Source, n.Invoice, n.Applied, n.Suspense, n.State, n.Reason)
	}
	if c := p.Payment; c != nil {
		add("payment %d %s applied=%d suspense=%d refunded=%d %s %s checkout=%s", c.ID, c.TransID, c.Applied, c.Suspense, c.Refunded, c.State, c.Reason, c.Checkout)
	}
	for _, m := range p.Moves {
		add("move %d %s>%s %d %s", m.PaymentID, m.From, m.To, m.Amount, m.Invoice)
	}
	if a := p.Application; a != nil {
		add("application %s for %s", a.Number, a.Invoice)
	}
	if b := p.Bill; b != nil {
		add("bill %s for %s", b.Bill, b.Invoice)
	}
	for _, j := range p.Jobs {
		if c, ok := j.Payload.(huduma.CheckoutJob); ok {
			add("job %s %s payer=%s prompt=%v (%s)", j.Kind, c.Invoice, c.Payer, c.Prompt, j.Dedupe)
		}
	}
	if f := p.NewRefund; f != nil {
		add("new refund %s %d %s", f.TransID, f.Amount, f.Status)
	}
	if f := p.Refund; f != nil {
		add("refund %d %s %s", f.ID, f.Status, f.ResultCode)
	}
	for _, m := range p.Messages {
		add("text %s to %s: %s (%s)", m.Message.Kind, m.Message.To, m.Message.Body, m.Dedupe)
	}
	for _, a := range p.Audit {
		add("audit %s %s %s", a.Entity, a.ID, a.Action)
	}
	for _, e := range p.Events {
		add("metric %s %s%s", e.Kind, e.Outcome, e.Name)
	}
	sort.Strings(out)
	return out
}

type ruleCase struct {
	name  string
	state huduma.LedgerState
	event huduma.MoneyEvent
	want  []string
	// err is the refusal's code, when the event must be refused.
	err string
}

func runRules(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.state.Now.IsZero() {
				c.state.Now = t0
			}
			if c.state.NewApplication == "" {
				c.state.NewApplication = "APP1"
			}
			plan, err := huduma.Settle(c.state, c.event, fakeTexts{})
			if c.err != "" {
				if huduma.ErrorCode(err) != c.err {
					t.Fatalf("error %v, want code %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, want := describe(plan), append([]string(nil), c.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			checkBalanced(t, c.state, plan)
		})
	}
}

// checkBalanced is the conservation of one plan: every payment's buckets
// add up to its amount, and the journal moves exactly what changed.
func checkBalanced(t *testing.T, st huduma.LedgerState, p huduma.Plan) {
	t.Helper()
	moved := map[int64]map[string]int64{}
	for _, m := range p.Moves {
		if moved[m.PaymentID] == nil {
			moved[m.PaymentID] = map[string]int64{}
		}
		moved[m.PaymentID][m.From] -= m.Amount
		moved[m.PaymentID][m.To] += m.Amount
	}
	if n := p.NewPayment; n != nil {
		if n.Applied+n.Suspense+n.Refunded != n.Amount || n.Applied < 0 || n.Suspense < 0 {
			t.Errorf("new payment does not add up: %+v", *n)
		}
		if m := moved[0]; m["applied"] != n.Applied || m["suspense"] != n.Suspense || -m["received"] != n.Amount && n.Applied+n.Suspense > 0 {
			t.Errorf("journal %v does not record new payment %+v", m, *n)
		}
	}
	if c := p.Payment; c != nil && st.Payment != nil && c.ID == st.Payment.ID {
		was := st.Payment
		if c.Applied+c.Suspense+c.Refunded != was.Amount {
			t.Errorf("payment no longer adds up to %d: %+v", was.Amount, *c)
		}
		m := moved[c.ID]
		if c.Applied-was.Applied != m["applied"] || c.Suspense-was.Suspense != m["suspense"] || c.Refunded-was.Refunded != m["refunded"] {
			t.Errorf("journal %v does not match the change from %+v to %+v", m, *was, *c)
		}
	}
	if i := p.Invoice; i != nil && st.Invoice != nil {
		var applied int64
		for _, m := range p.Moves {
			if m.To == "applied" {
				applied += m.Amount
			}
		}
		if i.Received-st.Invoice.Received != applied {
			t.Errorf("invoice received %d→%d but %d applied", st.Invoice.Received, i.Received, applied)
		}
		if (i.Status == huduma.InvoicePaid) != (i.Received >= st.Invoice.Total) || i.Received > st.Invoice.Total {
			t.Errorf("invoice %s with %d of %d", i.Status, i.Received, st.Invoice.Total)
		}
	}
}

func TestSTKResultRules(t *testing.T) {
	sent := attempt(huduma.AttemptSent)
	pending := invoice(550, 0, huduma.InvoicePending)
	paidWith := func(extra ...string) []string {
		return append([]string{
			"attempt 7 succeeded 0",
			"invoice 1234567890 paid received=550 reason= receipt=R1",
			"new payment R1 stk invoice=1234567890 applied=550 suspense=0 applied ",
			"move 0 received>applied 550 1234567890",
			"application APP1 for 1234567890",
			"text receipt to +254712345678: receipt 1234567890 R1 (receipt:1234567890)",
			"audit invoice 1234567890 paid",
			"metric stk_result 0",
			"metric invoice_paid ",
		}, extra...)
	}
	cases := []ruleCase{
		{name: "no prompt of ours", state: huduma.LedgerState{}, event: stk("0", 550, "R1"), want: []string{"outcome unknown_checkout"}},
		{name: "success pays the invoice", state: huduma.LedgerState{Attempt: sent, Invoice: pending}, event: stk("0", 550, "R1"),
			want: paidWith("outcome paid", "metric payment_received paid")},
		{name: "success of a prompt queued (its acceptance not yet recorded)", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptQueued), Invoice: pending},
			event: stk("0", 550, "R1"), want: paidWith("outcome paid", "metric payment_received paid")},
		{name: "success of a stale prompt still pays", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptStale), Invoice: pending},
			event: stk("0", 550, "R1"), want: paidWith("outcome paid", "metric payment_received paid")},
		{name: "success from another phone is flagged", state: huduma.LedgerState{Attempt: sent, Invoice: pending},
			event: func() huduma.STKResultEvent { e := stk("0", 550, "R1"); e.Result.Phone = other.Digits(); return e }(),
			want:  paidWith("outcome paid_other_payer", "metric payment_received paid", "audit invoice 1234567890 callback_payer_mismatch")},
		{name: "success on a part-paid invoice pays the rest", state: huduma.LedgerState{Attempt: &huduma.Attempt{ID: 7, Invoice: number, Payer: owner,
			Amount: 300, Status: huduma.AttemptSent, CheckoutRequestID: "ws_CO_1"}, Invoice: invoice(550, 250, huduma.InvoicePending)},
			event: stk("0", 300, "R1"), want: []string{"outcome paid", "attempt 7 succeeded 0", "invoice 1234567890 paid received=550 reason= receipt=R1",
				"new payment R1 stk invoice=1234567890 applied=300 suspense=0 applied ", "move 0 received>applied 300 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 R1 (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric stk_result 0", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "success for an invoice paid meanwhile is held", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 550, huduma.InvoicePaid)},
			event: stk("0", 550, "R1"), want: []string{"outcome suspense", "attempt 7 succeeded 0",
				"new payment R1 stk invoice=1234567890 applied=0 suspense=550 suspense invoice_paid", "move 0 received>suspense 550 ",
				"text payment to +254712345678: held 550 (payment:R1:held)", "audit payment R1 received", "metric stk_result 0",
				"metric suspense opened", "metric payment_received suspense"}},
		{name: "success for an invoice expired meanwhile is held", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 0, huduma.InvoiceExpired)},
			event: stk("0", 550, "R1"), want: []string{"outcome suspense", "attempt 7 succeeded 0",
				"new payment R1 stk invoice=1234567890 applied=0 suspense=550 suspense invoice_expired", "move 0 received>suspense 550 ",
				"text payment to +254712345678: held 550 (payment:R1:held)", "audit payment R1 received", "metric stk_result 0",
				"metric suspense opened", "metric payment_received suspense"}},
		{name: "success with another amount is not applied", state: huduma.LedgerState{Attempt: sent, Invoice: pending}, event: stk("0", 1, "R1"),
			want: []string{"outcome amount_mismatch", "audit invoice 1234567890 callback_amount_mismatch"}},
		{name: "success with a receipt that paid another invoice", state: huduma.LedgerState{Attempt: sent, Invoice: pending,
			Payment: &huduma.ReceivedPayment{ID: 9, TransID: "R1", Invoice: "9999999999", Amount: 550, Applied: 550, State: huduma.PaymentApplied}},
			event: stk("0", 550, "R1"), want: []string{"outcome receipt_reused", "audit invoice 1234567890 callback_receipt_reused"}},
		{name: "success whose paybill confirmation came first", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 550, huduma.InvoicePaid),
			Payment: &huduma.ReceivedPayment{ID: 9, TransID: "R1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied}},
			event: stk("0", 550, "R1"), want: []string{"outcome duplicate", "attempt 7 succeeded 0",
				"payment 9 R1 applied=550 suspense=0 refunded=0 applied  checkout=ws_CO_1", "audit invoice 1234567890 prompt_matched_payment", "metric stk_result 0"}},
		{name: "query success matching a paybill payment since the prompt", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 550, huduma.InvoicePaid),
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "PB1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied,
				Payer: "2547 ***** 678", ReceivedAt: t0.Add(-30 * time.Second)}}},
			event: stk("0", 550, ""), want: []string{"outcome duplicate", "attempt 7 succeeded 0",
				"payment 9 PB1 applied=550 suspense=0 refunded=0 applied  checkout=ws_CO_1", "audit invoice 1234567890 prompt_matched_payment", "metric stk_result 0"}},
		{name: "query success does not match a paybill payment before the prompt", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 550, huduma.InvoicePaid),
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "PB1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied,
				Payer: "2547 ***** 678", ReceivedAt: t0.Add(-3 * time.Minute)}}},
			event: stk("0", 550, ""), want: []string{"outcome suspense", "attempt 7 succeeded 0",
				"new payment stk:ws_CO_1 stk invoice=1234567890 applied=0 suspense=550 suspense invoice_paid", "move 0 received>suspense 550 ",
				"text payment to +254712345678: held 550 (payment:stk:ws_CO_1:held)", "audit payment stk:ws_CO_1 received", "metric stk_result 0",
				"metric suspense opened", "metric payment_received suspense"}},
		{name: "query success does not match a paybill payment from another number", state: huduma.LedgerState{Attempt: sent, Invoice: pending,
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "PB1", Invoice: number, Amount: 550, Suspense: 550, State: huduma.PaymentSuspense,
				Payer: "2547 ***** 111", ReceivedAt: t0.Add(-30 * time.Second)}}},
			event: stk("0", 550, ""), want: []string{"outcome paid", "attempt 7 succeeded 0", "invoice 1234567890 paid received=550 reason= receipt=",
				"new payment stk:ws_CO_1 stk invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890  (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric stk_result 0", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "query success pays without a receipt", state: huduma.LedgerState{Attempt: sent, Invoice: pending}, event: stk("0", 550, ""),
			want: []string{"outcome paid", "attempt 7 succeeded 0", "invoice 1234567890 paid received=550 reason= receipt=",
				"new payment stk:ws_CO_1 stk invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890  (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric stk_result 0", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "the callback after the query brings the receipt", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptSucceeded),
			Invoice:         &huduma.Invoice{Number: number, Phone: owner, Total: 550, Received: 550, Status: huduma.InvoicePaid},
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied, Checkout: "ws_CO_1"}}},
			event: stk("0", 550, "R1"), want: []string{"outcome duplicate", "invoice 1234567890 paid received=550 reason= receipt=R1",
				"payment 9 R1 applied=550 suspense=0 refunded=0 applied  checkout=ws_CO_1", "audit payment R1 receipt_learned"}},
		{name: "the callback after the query with another amount brings nothing", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptSucceeded),
			Invoice:         &huduma.Invoice{Number: number, Phone: owner, Total: 550, Received: 550, Status: huduma.InvoicePaid},
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied, Checkout: "ws_CO_1"}}},
			event: stk("0", 549, "R1"), want: []string{"outcome duplicate"}},
		{name: "the callback after the query with a receipt another payment has", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptSucceeded),
			Invoice:         &huduma.Invoice{Number: number, Phone: owner, Total: 550, Received: 550, Status: huduma.InvoicePaid},
			Payment:         &huduma.ReceivedPayment{ID: 12, TransID: "R1", Invoice: "9999999999", Amount: 550},
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied, Checkout: "ws_CO_1"}}},
			event: stk("0", 550, "R1"), want: []string{"outcome duplicate", "audit invoice 1234567890 callback_receipt_reused"}},
		{name: "a repeat of a success", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptSucceeded), Invoice: invoice(550, 550, huduma.InvoicePaid)},
			event: stk("0", 550, "R1"), want: []string{"outcome duplicate"}},
		{name: "a failure after a success", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptSucceeded), Invoice: invoice(550, 550, huduma.InvoicePaid)},
			event: stk("1032", 0, ""), want: []string{"outcome duplicate"}},
		{name: "a repeat of a failure", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptFailed), Invoice: invoice(550, 0, huduma.InvoiceCancelled)},
			event: stk("1032", 0, ""), want: []string{"outcome duplicate"}},
		{name: "a success after a failure", state: huduma.LedgerState{Attempt: attempt(huduma.AttemptFailed), Invoice: invoice(550, 0, huduma.InvoiceFailed)},
			event: stk("0", 550, "R1"), want: []string{"outcome duplicate"}},
		{name: "a failure of a paid invoice's prompt leaves the invoice paid", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 550, huduma.InvoicePaid)},
			event: stk("1", 0, ""), want: []string{"outcome failed", "attempt 7 failed 1", "audit invoice 1234567890 payment_failed", "metric stk_result 1"}},
	}
	// Every failure code: the prompt fails, the invoice fails with the
	// code as its reason (cancelled when the payer cancelled).
	for _, code := range []string{"1", "17", "1019", "1025", "1032", "1037", "2001", "9999"} {
		status := huduma.InvoiceFailed
		if code == "1032" {
			status = huduma.InvoiceCancelled
		}
		for _, from := range []huduma.InvoiceStatus{huduma.InvoicePending, huduma.InvoiceFailed, huduma.InvoiceCancelled} {
			cases = append(cases, ruleCase{name: "failure " + code + " of a " + string(from) + " invoice",
				state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 0, from)}, event: stk(code, 0, ""),
				want: []string{"outcome failed", "attempt 7 failed " + code, fmt.Sprintf("invoice 1234567890 %s received=0 reason=%s receipt=", status, code),
					"audit invoice 1234567890 payment_failed", "metric stk_result " + code}})
		}
		cases = append(cases, ruleCase{name: "failure " + code + " of an expired invoice", state: huduma.LedgerState{Attempt: sent, Invoice: invoice(550, 0, huduma.InvoiceExpired)},
			event: stk(code, 0, ""), want: []string{"outcome failed", "attempt 7 failed " + code, "audit invoice 1234567890 payment_failed", "metric stk_result " + code}})
	}
	runRules(t, cases)
}

func TestPaymentRules(t *testing.T) {
	partial := invoice(550, 200, huduma.InvoicePending)
	cases := []ruleCase{
		{name: "unknown account", state: huduma.LedgerState{}, event: c2b("T1", 300, "not-an-invoice"),
			want: []string{"outcome suspense", "new payment T1 c2b invoice= applied=0 suspense=300 suspense unknown_account", "move 0 received>suspense 300 ",
				"audit payment T1 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "unknown account, a full number is told", state: huduma.LedgerState{},
			event: huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: "T1", Account: "x", Amount: 300, MSISDN: "254722000111"}},
			want: []string{"outcome suspense", "new payment T1 c2b invoice= applied=0 suspense=300 suspense unknown_account", "move 0 received>suspense 300 ",
				"text payment to +254722000111: held 300 (payment:T1:held)",
				"audit payment T1 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "a valid number of no invoice", state: huduma.LedgerState{}, event: c2b("T1", 300, "1234567890"),
			want: []string{"outcome suspense", "new payment T1 c2b invoice= applied=0 suspense=300 suspense unknown_account", "move 0 received>suspense 300 ",
				"audit payment T1 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "part payment", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)}, event: c2b("T1", 200, "1234567890"),
			want: []string{"outcome partial", "invoice 1234567890 pending received=200 reason= receipt=",
				"new payment T1 c2b invoice=1234567890 applied=200 suspense=0 applied ", "move 0 received>applied 200 1234567890",
				"text payment to +254712345678: partial 200 (payment:T1:partial)", "audit invoice 1234567890 payment_applied", "metric payment_received partial"}},
		{name: "part payment of a failed invoice (a cancelled prompt)", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoiceCancelled)}, event: c2b("T1", 200, "1234567890"),
			want: []string{"outcome partial", "invoice 1234567890 cancelled received=200 reason= receipt=",
				"new payment T1 c2b invoice=1234567890 applied=200 suspense=0 applied ", "move 0 received>applied 200 1234567890",
				"text payment to +254712345678: partial 200 (payment:T1:partial)", "audit invoice 1234567890 payment_applied", "metric payment_received partial"}},
		{name: "the rest pays it", state: huduma.LedgerState{Invoice: partial}, event: c2b("T2", 350, "1234567890"),
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=T2",
				"new payment T2 c2b invoice=1234567890 applied=350 suspense=0 applied ", "move 0 received>applied 350 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 T2 (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "exact payment", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)}, event: c2b("T1", 550, "1234567890"),
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=T1",
				"new payment T1 c2b invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 T1 (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "exact payment of an invoice whose application exists", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending), Application: "APP0"},
			event: c2b("T1", 550, "1234567890"),
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=T1",
				"new payment T1 c2b invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"text receipt to +254712345678: receipt 1234567890 T1 (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "a receipt another invoice shows already", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending), ReceiptTaken: true},
			event: c2b("T1", 550, "1234567890"),
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=",
				"new payment T1 c2b invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890  (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "overpayment", state: huduma.LedgerState{Invoice: partial}, event: c2b("T2", 500, "1234567890"),
			want: []string{"outcome overpaid", "invoice 1234567890 paid received=550 reason= receipt=T2",
				"new payment T2 c2b invoice=1234567890 applied=350 suspense=150 suspense overpaid", "move 0 received>applied 350 1234567890",
				"move 0 received>suspense 150 ", "application APP1 for 1234567890",
				"text receipt to +254712345678: receipt 1234567890 T2 (receipt:1234567890)", "text payment to +254712345678: overpaid 150 (payment:T2:overpaid)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric suspense opened", "metric payment_received overpaid"}},
		{name: "already paid", state: huduma.LedgerState{Invoice: invoice(550, 550, huduma.InvoicePaid)}, event: c2b("T3", 550, "1234567890"),
			want: []string{"outcome suspense", "new payment T3 c2b invoice=1234567890 applied=0 suspense=550 suspense invoice_paid", "move 0 received>suspense 550 ",
				"text payment to +254712345678: held 550 (payment:T3:held)", "audit payment T3 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "expired", state: huduma.LedgerState{Invoice: invoice(550, 100, huduma.InvoiceExpired)}, event: c2b("T3", 450, "1234567890"),
			want: []string{"outcome suspense", "new payment T3 c2b invoice=1234567890 applied=0 suspense=450 suspense invoice_expired", "move 0 received>suspense 450 ",
				"text payment to +254712345678: held 450 (payment:T3:held)", "audit payment T3 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "repeat of a transaction", state: huduma.LedgerState{Invoice: partial, Payment: held("T1", 200, 0, huduma.PaymentApplied, "")},
			event: c2b("T1", 200, "1234567890"), want: []string{"outcome duplicate", "metric payment_received duplicate"}},
		{name: "the receipt of a query-confirmed prompt payment", state: huduma.LedgerState{Invoice: invoice(550, 550, huduma.InvoicePaid),
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied,
				Phone: owner, Checkout: "ws_CO_1"}}},
			event: c2b("R1", 550, "1234567890"),
			want: []string{"outcome duplicate",
				"payment 9 R1 applied=550 suspense=0 refunded=0 applied  checkout=ws_CO_1", "audit payment R1 receipt_learned", "metric payment_received duplicate"}},
		{name: "a payment of another amount is not the prompt's", state: huduma.LedgerState{Invoice: invoice(550, 550, huduma.InvoicePaid),
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied,
				Phone: owner, Checkout: "ws_CO_1"}}},
			event: c2b("R1", 549, "1234567890"),
			want: []string{"outcome suspense", "new payment R1 c2b invoice=1234567890 applied=0 suspense=549 suspense invoice_paid", "move 0 received>suspense 549 ",
				"text payment to +254712345678: held 549 (payment:R1:held)", "audit payment R1 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "a payment from another number is not the prompt's", state: huduma.LedgerState{Invoice: invoice(550, 550, huduma.InvoicePaid),
			InvoicePayments: []huduma.ReceivedPayment{{ID: 9, TransID: "stk:ws_CO_1", Invoice: number, Amount: 550, Applied: 550, State: huduma.PaymentApplied,
				Phone: other, Checkout: "ws_CO_1"}}},
			event: c2b("R1", 550, "1234567890"),
			want: []string{"outcome suspense", "new payment R1 c2b invoice=1234567890 applied=0 suspense=550 suspense invoice_paid", "move 0 received>suspense 550 ",
				"text payment to +254712345678: held 550 (payment:R1:held)", "audit payment R1 received", "metric suspense opened", "metric payment_received suspense"}},
		{name: "a pulled transaction is a payment like any", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)},
			event: huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: "T1", Invoice: number, Amount: 550, Source: huduma.SourcePull}},
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=T1",
				"new payment T1 pull invoice=1234567890 applied=550 suspense=0 applied ", "move 0 received>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 T1 (receipt:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric payment_received paid"}},
		{name: "no transaction id", event: c2b("", 100, "1234567890"), err: huduma.EInvalid},
		{name: "a provisional id", event: c2b("stk:x", 100, "1234567890"), err: huduma.EInvalid},
		{name: "zero", event: c2b("T1", 0, "1234567890"), err: huduma.EInvalid},
		{name: "negative", event: c2b("T1", -5, "1234567890"), err: huduma.EInvalid},
		{name: "absurd", event: c2b("T1", 1<<62, "1234567890"), err: huduma.EInvalid},
	}
	runRules(t, cases)
}

func TestApplyRules(t *testing.T) {
	apply := huduma.ApplyEvent{TransID: "H1", Invoice: number, Actor: "finance"}
	cases := []ruleCase{
		{name: "held money pays an invoice", state: huduma.LedgerState{Payment: held("H1", 550, 550, huduma.PaymentSuspense, huduma.ReasonUnknownAccount),
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply,
			want: []string{"outcome paid", "invoice 1234567890 paid received=550 reason= receipt=H1",
				"payment 40 H1 applied=550 suspense=0 refunded=0 applied unknown_account checkout=", "move 40 suspense>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 H1 (receipt:1234567890)",
				"text payment to +254712345678: applied 550 (payment:H1:applied:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric suspense applied"}},
		{name: "part of held money pays an invoice, the rest stays", state: huduma.LedgerState{Payment: held("H1", 800, 800, huduma.PaymentSuspense, huduma.ReasonUnknownAccount),
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply,
			want: []string{"outcome overpaid", "invoice 1234567890 paid received=550 reason= receipt=H1",
				"payment 40 H1 applied=550 suspense=250 refunded=0 suspense overpaid checkout=", "move 40 suspense>applied 550 1234567890",
				"application APP1 for 1234567890", "text receipt to +254712345678: receipt 1234567890 H1 (receipt:1234567890)",
				"text payment to +254712345678: applied 550 (payment:H1:applied:1234567890)",
				"audit invoice 1234567890 paid", "metric invoice_paid ", "metric suspense applied"}},
		{name: "held money part-pays an invoice", state: huduma.LedgerState{Payment: held("H1", 200, 200, huduma.PaymentSuspense, huduma.ReasonInvoiceExpired),
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply,
			want: []string{"outcome partial", "invoice 1234567890 pending received=200 reason= receipt=",
				"payment 40 H1 applied=200 suspense=0 refunded=0 applied invoice_expired checkout=", "move 40 suspense>applied 200 1234567890",
				"text payment to +254712345678: applied 200 (payment:H1:applied:1234567890)",
				"audit invoice 1234567890 payment_applied", "metric suspense applied"}},
		{name: "no payment", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply, err: huduma.ENotFound},
		{name: "a payment being refunded", state: huduma.LedgerState{Payment: held("H1", 550, 550, huduma.PaymentRefunding, huduma.ReasonOverpaid),
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply, err: huduma.EConflict},
		{name: "a payment that holds nothing", state: huduma.LedgerState{Payment: held("H1", 550, 0, huduma.PaymentApplied, ""),
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply, err: huduma.EConflict},
		{name: "a refunded payment", state: huduma.LedgerState{Payment: &huduma.ReceivedPayment{ID: 40, TransID: "H1", Amount: 550, Refunded: 550, State: huduma.PaymentRefunded},
			Invoice: invoice(550, 0, huduma.InvoicePending)}, event: apply, err: huduma.EConflict},
		{name: "no invoice", state: huduma.LedgerState{Payment: held("H1", 550, 550, huduma.PaymentSuspense, huduma.ReasonUnknownAccount)}, event: apply, err: huduma.ENotFound},
		{name: "a paid invoice", state: huduma.LedgerState{Payment: held("H1", 550, 550, huduma.PaymentSuspense, huduma.ReasonUnknownAccount),
			Invoice: invoice(550, 550, huduma.InvoicePaid)}, event: apply, err: huduma.EConflict},
		{name: "an expired invoice", state: huduma.LedgerState{Payment: held("H1", 550, 550, huduma.PaymentSuspense, huduma.ReasonUnknownAccount),
			Invoice: invoice(550, 0, huduma.InvoiceExpired)}, event: apply, err: huduma.EConflict},
	}
	runRules(t, cases)
}

func TestRefundRules(t *testing.T) {
	request := huduma.RefundRequestEvent{Request: huduma.RefundRequest{TransID: "H1", Key: "k1", Actor: "finance", Remarks: "wrong account"}}
	holding := held("H1", 800, 250, huduma.PaymentSuspense, huduma.ReasonOverpaid)
	refunding := held("H1", 800, 250, huduma.PaymentRefunding, huduma.ReasonOverpaid)
	onItsWay := func(status huduma.RefundStatus) *huduma.Refund {
		return &huduma.Refund{ID: 5, TransID: "H1", Amount: 250, Status: status, RequestedBy: "finance", ConversationID: "AG_1", OriginatorConversationID: "OC_1"}
	}
	ok := huduma.ReversalEvent{Result: huduma.ReversalResult{ConversationID: "AG_1", OriginatorConversationID: "OC_1", ResultCode: "0", ResultDesc: "done"}}
	failed := huduma.ReversalEvent{Result: huduma.ReversalResult{ConversationID: "AG_1", ResultCode: "R000002", ResultDesc: "The OriginatorConversationID is invalid"}}
	timeout := huduma.ReversalEvent{Result: huduma.ReversalResult{ConversationID: "AG_1", ResultCode: "1", TimedOut: true}}
	inv := invoice(550, 550, huduma.InvoicePaid)
	cases := []ruleCase{
		{name: "request", state: huduma.LedgerState{Payment: holding}, event: request,
			want: []string{"outcome suspense", "new refund H1 250 queued", "payment 40 H1 applied=550 suspense=250 refunded=0 refunding overpaid checkout=",
				"audit payment H1 refund_requested", "metric suspense refund_requested"}},
		{name: "request again with its key", state: huduma.LedgerState{Payment: refunding, Refund: onItsWay(huduma.RefundQueued)}, event: request,
			want: []string{"outcome duplicate"}},
		{name: "a key of another payment's refund", state: huduma.LedgerState{Payment: holding,
			Refund: &huduma.Refund{ID: 5, TransID: "OTHER", Amount: 1}}, event: request, err: huduma.EKeyReused},
		{name: "a second refund while one is on its way", state: huduma.LedgerState{Payment: refunding}, event: request, err: huduma.EConflict},
		{name: "nothing held", state: huduma.LedgerState{Payment: held("H1", 550, 0, huduma.PaymentApplied, "")}, event: request, err: huduma.EConflict},
		{name: "no receipt yet", state: huduma.LedgerState{Payment: held("stk:ws_CO_1", 550, 550, huduma.PaymentSuspense, huduma.ReasonInvoicePaid)},
			event: huduma.RefundRequestEvent{Request: huduma.RefundRequest{TransID: "stk:ws_CO_1"}}, err: huduma.EConflict},
		{name: "no such payment", state: huduma.LedgerState{}, event: request, err: huduma.ENotFound},
		{name: "success", state: huduma.LedgerState{Payment: refunding, Refund: onItsWay(huduma.RefundSent), Invoice: inv}, event: ok,
			want: []string{"outcome refunded", "refund 5 succeeded 0", "payment 40 H1 applied=550 suspense=0 refunded=250 refunded overpaid checkout=",
				"move 40 suspense>refunded 250 ", "text payment to +254712345678: refunded 250 (refund:5:done)", "audit payment H1 refunded",
				"metric suspense refunded"}},
		{name: "success found by the payment it reverses", state: huduma.LedgerState{Payment: refunding, Invoice: inv,
			Refunds: []huduma.Refund{{ID: 4, TransID: "H1", Amount: 100, Status: huduma.RefundFailed}, *onItsWay(huduma.RefundSending)}},
			event: huduma.ReversalEvent{Result: huduma.ReversalResult{ResultCode: "0", OriginalTransID: "H1"}},
			want: []string{"outcome refunded", "refund 5 succeeded 0", "payment 40 H1 applied=550 suspense=0 refunded=250 refunded overpaid checkout=",
				"move 40 suspense>refunded 250 ", "text payment to +254712345678: refunded 250 (refund:5:done)", "audit payment H1 refunded",
				"metric suspense refunded"}},
		{name: "failure holds the money again", state: huduma.LedgerState{Payment: refunding, Refund: onItsWay(huduma.RefundSent), Invoice: inv}, event: failed,
			want: []string{"outcome refund_failed", "refund 5 failed R000002", "payment 40 H1 applied=550 suspense=250 refunded=0 suspense refund_failed checkout=",
				"audit payment H1 refund_failed", "metric suspense refund_failed"}},
		{name: "a queue timeout is no answer: the refund stays on its way", state: huduma.LedgerState{Payment: refunding, Refund: onItsWay(huduma.RefundSent), Invoice: inv},
			event: timeout, want: []string{"outcome refund_timed_out", "refund 5 sent 1", "audit payment H1 refund_timed_out"}},
		{name: "a repeat of the timeout", state: huduma.LedgerState{Payment: refunding, Refund: func() *huduma.Refund { f := onItsWay(huduma.RefundSent); f.ResultCode = "1"; return f }(), Invoice: inv},
			event: timeout, want: []string{"outcome duplicate"}},
		{name: "a success after a timeout is applied", state: huduma.LedgerState{Payment: refunding, Refund: func() *huduma.Refund { f := onItsWay(huduma.RefundSent); f.ResultCode = "1"; return f }(), Invoice: inv}, event: ok,
			want: []string{"outcome refunded", "refund 5 succeeded 0", "payment 40 H1 applied=550 suspense=0 refunded=250 refunded overpaid checkout=",
				"move 40 suspense>refunded 250 ", "text payment to +254712345678: refunded 250 (refund:5:done)", "audit payment H1 refunded",
				"metric suspense refunded"}},
		{name: "a failure after a timeout holds the money again", state: huduma.LedgerState{Payment: refunding, Refund: func() *huduma.Refund { f := onItsWay(huduma.RefundSent); f.ResultCode = "1"; return f }(), Invoice: inv}, event: failed,
			want: []string{"outcome refund_failed", "refund 5 failed R000002", "payment 40 H1 applied=550 suspense=250 refunded=0 suspense refund_failed checkout=",
				"audit payment H1 refund_failed", "metric suspense refund_failed"}},
		{name: "a second refund while one timed out is refused", state: huduma.LedgerState{Payment: refunding}, event: request, err: huduma.EConflict},
		{name: "a repeat of a success", state: huduma.LedgerState{Payment: held("H1", 800, 0, huduma.PaymentRefunded, huduma.ReasonOverpaid),
			Refund: onItsWay(huduma.RefundSucceeded)}, event: ok, want: []string{"outcome duplicate"}},
		{name: "a repeat of a failure", state: huduma.LedgerState{Payment: holding, Refund: onItsWay(huduma.RefundFailed)}, event: failed,
			want: []string{"outcome duplicate"}},
		{name: "a result for no refund of ours", state: huduma.LedgerState{}, event: ok, want: []string{"outcome unknown_checkout"}},
		{name: "refused at request", state: huduma.LedgerState{Payment: refunding, Invoice: inv},
			event: huduma.RefundRefusedEvent{Refund: *onItsWay(huduma.RefundSending), Code: "refused", Desc: "bad credential"},
			want: []string{"outcome refund_failed", "refund 5 failed refused", "payment 40 H1 applied=550 suspense=250 refunded=0 suspense refund_failed checkout=",
				"audit payment H1 refund_failed", "metric suspense refund_failed"}},
	}
	runRules(t, cases)
}

func TestExpiryRules(t *testing.T) {
	past := invoice(550, 0, huduma.InvoicePending)
	past.ExpiresAt = t0.Add(-time.Second)
	failedPast := invoice(550, 100, huduma.InvoiceFailed)
	failedPast.ExpiresAt = t0
	paidPast := invoice(550, 550, huduma.InvoicePaid)
	paidPast.ExpiresAt = t0.Add(-time.Hour)
	cases := []ruleCase{
		{name: "pending and past its expiry", state: huduma.LedgerState{Invoice: past}, event: huduma.ExpireEvent{Invoice: number},
			want: []string{"outcome expired", "invoice 1234567890 expired received=0 reason= receipt=", "audit invoice 1234567890 expired", "metric invoice_expired "}},
		{name: "failed, part-paid and at its expiry", state: huduma.LedgerState{Invoice: failedPast}, event: huduma.ExpireEvent{Invoice: number},
			want: []string{"outcome expired", "invoice 1234567890 expired received=100 reason= receipt=", "audit invoice 1234567890 expired", "metric invoice_expired "}},
		{name: "not yet due", state: huduma.LedgerState{Invoice: invoice(550, 0, huduma.InvoicePending)}, event: huduma.ExpireEvent{Invoice: number},
			want: []string{"outcome "}},
		{name: "paid", state: huduma.LedgerState{Invoice: paidPast}, event: huduma.ExpireEvent{Invoice: number}, want: []string{"outcome "}},
		{name: "gone", state: huduma.LedgerState{}, event: huduma.ExpireEvent{Invoice: number}, want: []string{"outcome "}},
	}
	runRules(t, cases)
}
