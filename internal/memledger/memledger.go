// Package memledger is the ledger kept in memory, for tests of the money
// rules (huduma.Settle) that need state across events but no database: it
// loads a huduma.LedgerState for a key and writes the plan it is handed,
// as the SQL store does in a transaction, so the conservation property
// can run over many thousands of random sequences in seconds. The SQL
// store is held to the same property by the store conformance suite.
package memledger

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
)

// Ledger is an in-memory ledger. It is safe for concurrent use; every
// call is one "transaction".
type Ledger struct {
	mu   sync.Mutex
	now  func() time.Time
	apps int

	invoices   map[huduma.InvoiceNumber]*huduma.Invoice
	keys       map[string]huduma.InvoiceNumber
	hashes     map[huduma.InvoiceNumber]string
	attempts   []*huduma.Attempt
	promptKeys map[string]int64
	strangers  map[int64]bool
	checkouts  map[string]int64
	payments   []*huduma.ReceivedPayment
	byTrans    map[string]int64
	byInvoice  map[huduma.InvoiceNumber][]int64
	receipts   map[string]bool
	moves      []huduma.Move
	refunds    []*huduma.Refund
	refundKeys map[string]int64
	opened     map[huduma.InvoiceNumber]string
	texts      map[string]huduma.Message
	audit      []huduma.AuditRow
}

// New returns an empty ledger reading the clock now.
func New(now func() time.Time) *Ledger {
	return &Ledger{now: now, invoices: map[huduma.InvoiceNumber]*huduma.Invoice{}, keys: map[string]huduma.InvoiceNumber{},
		hashes: map[huduma.InvoiceNumber]string{}, promptKeys: map[string]int64{}, strangers: map[int64]bool{},
		checkouts: map[string]int64{}, byTrans: map[string]int64{}, byInvoice: map[huduma.InvoiceNumber][]int64{}, receipts: map[string]bool{}, refundKeys: map[string]int64{}, opened: map[huduma.InvoiceNumber]string{}, texts: map[string]huduma.Message{}}
}

func (l *Ledger) attempt(id int64) *huduma.Attempt {
	if id < 1 || id > int64(len(l.attempts)) {
		return nil
	}
	return l.attempts[id-1]
}

// AttemptByCheckout returns the prompt M-Pesa knows by checkout.
func (l *Ledger) AttemptByCheckout(_ context.Context, checkout string) (huduma.Attempt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.byCheckout(checkout); a != nil {
		return *a, nil
	}
	return huduma.Attempt{}, huduma.ErrNotFound
}

func (l *Ledger) byCheckout(checkout string) *huduma.Attempt {
	return l.attempt(l.checkouts[checkout])
}

func (l *Ledger) refund(id int64) *huduma.Refund {
	if id < 1 || id > int64(len(l.refunds)) {
		return nil
	}
	return l.refunds[id-1]
}

// Settle loads the state key names, asks decide for the plan and writes
// it, all under one lock: the in-memory twin of the SQL store's Settle.
func (l *Ledger) Settle(_ context.Context, key huduma.LedgerKey, decide func(huduma.LedgerState) (huduma.Plan, error)) (huduma.Plan, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := huduma.LedgerState{Now: l.now()}
	number := key.Invoice
	if a := l.attempt(key.AttemptID); a != nil {
		c := *a
		st.Attempt = &c
		if number == "" {
			number = a.Invoice
		}
	}
	if key.Checkout != "" {
		if a := l.byCheckout(key.Checkout); a != nil {
			c := *a
			st.Attempt = &c
			if number == "" {
				number = a.Invoice
			}
		}
	}
	trans := key.TransID
	if r := key.Reversal; r != nil {
		for _, f := range l.refunds {
			if r.OriginatorConversationID != "" && f.OriginatorConversationID == r.OriginatorConversationID ||
				r.ConversationID != "" && f.ConversationID == r.ConversationID {
				c := *f
				st.Refund = &c
				break
			}
		}
		switch {
		case st.Refund != nil:
			trans = st.Refund.TransID
		case r.OriginalTransID != "":
			trans = r.OriginalTransID
			for _, f := range l.refunds {
				if f.TransID == trans {
					st.Refunds = append(st.Refunds, *f)
				}
			}
		}
	}
	if f := l.refund(key.RefundID); f != nil {
		c := *f
		st.Refund = &c
		trans = f.TransID
	}
	if key.RefundKey != "" {
		if id, ok := l.refundKeys[key.RefundKey]; ok {
			c := *l.refund(id)
			st.Refund = &c
		}
	}
	if trans != "" {
		if id, ok := l.byTrans[trans]; ok {
			c := *l.payments[id-1]
			st.Payment = &c
			if key.PaymentInvoice && number == "" {
				number = c.Invoice
			}
		}
		st.ReceiptTaken = l.receipts[trans]
	}
	if number == "" && key.Bill != "" {
		for n, inv := range l.invoices {
			if inv.Bill == key.Bill {
				number = n
			}
		}
	}
	if inv, ok := l.invoices[number]; ok && number != "" {
		c := *inv
		st.Invoice = &c
		for _, id := range l.byInvoice[number] {
			st.InvoicePayments = append(st.InvoicePayments, *l.payments[id-1])
		}
		st.Application = l.opened[number]
		if key.InFlight {
			for _, a := range l.attempts {
				if a.Invoice == number && a.Status.InFlight() {
					st.InFlight = append(st.InFlight, *a)
				}
			}
		}
	}
	if id, ok := l.promptKeys[key.PromptKey]; ok && key.PromptKey != "" {
		c := *l.attempt(id)
		st.KeyPrompt = &c
	}
	if n, ok := l.keys[key.InvoiceKey]; ok && key.InvoiceKey != "" {
		c := *l.invoices[n]
		st.KeyInvoice, st.KeyInvoiceHash = &c, l.hashes[n]
	}
	if key.PromptsTo != "" {
		for _, a := range l.attempts {
			if a.Payer == key.PromptsTo && l.strangers[a.ID] && a.CreatedAt.After(st.Now.Add(-huduma.PromptCapWindow)) {
				st.StrangerPrompts++
			}
		}
	}
	l.apps++
	st.NewApplication = fmt.Sprintf("APP%07d", l.apps)
	plan, err := decide(st)
	if err != nil {
		return plan, err
	}
	if n := plan.NewInvoice; n != nil {
		if _, dup := l.invoices[n.Invoice.Number]; dup {
			return huduma.Plan{}, huduma.Errorf(huduma.EConflict, "invoice number already used")
		}
		if _, seen := l.keys[n.Key]; seen && n.Key != "" {
			return huduma.Plan{}, huduma.Errorf(huduma.EConflict, "idempotency key already used")
		}
	}
	l.write(key, plan)
	return plan, nil
}

// write applies a plan, giving its new invoice, prompt, payment and
// refund their ids.
func (l *Ledger) write(key huduma.LedgerKey, p huduma.Plan) {
	now := l.now()
	if n := p.NewInvoice; n != nil {
		inv := n.Invoice
		l.invoices[inv.Number] = &inv
		if n.Key != "" {
			l.keys[n.Key], l.hashes[inv.Number] = inv.Number, n.RequestHash
		}
	}
	for _, id := range p.StalePrompts {
		a := l.attempt(id)
		a.Status, a.UpdatedAt = huduma.AttemptStale, now
	}
	if n := p.NewPrompt; n != nil {
		a := n.Attempt
		a.ID = int64(len(l.attempts) + 1)
		n.Attempt.ID = a.ID
		l.attempts = append(l.attempts, &a)
		l.strangers[a.ID] = n.Stranger
		if n.Key != "" {
			l.promptKeys[n.Key] = a.ID
		}
	}
	if c := p.Attempt; c != nil {
		a := l.attempt(c.ID)
		a.Status, a.ResultCode, a.ResultDesc, a.UpdatedAt = c.Status, c.ResultCode, c.ResultDesc, now
		if c.CheckoutRequestID != "" {
			a.CheckoutRequestID, a.MerchantRequestID = c.CheckoutRequestID, c.MerchantRequestID
			l.checkouts[c.CheckoutRequestID] = a.ID
		}
	}
	var newID int64
	if n := p.NewPayment; n != nil {
		n.ID = int64(len(l.payments) + 1)
		c := *n
		newID = c.ID
		l.payments = append(l.payments, &c)
		l.byTrans[c.TransID] = c.ID
		if c.Invoice != "" {
			l.byInvoice[c.Invoice] = append(l.byInvoice[c.Invoice], c.ID)
		}
	}
	if c := p.Payment; c != nil {
		q := l.payments[c.ID-1]
		if c.TransID != q.TransID {
			delete(l.byTrans, q.TransID)
			l.byTrans[c.TransID] = q.ID
		}
		q.TransID, q.Applied, q.Suspense, q.Refunded, q.State, q.Reason, q.Note, q.SuspenseSince, q.Checkout =
			c.TransID, c.Applied, c.Suspense, c.Refunded, c.State, c.Reason, c.Note, c.SuspenseSince, c.Checkout
	}
	if c := p.Invoice; c != nil {
		inv := l.invoices[c.Number]
		if c.Receipt != inv.MpesaReceipt {
			delete(l.receipts, inv.MpesaReceipt)
			if c.Receipt != "" {
				if l.receipts[c.Receipt] {
					panic("memledger: two invoices show receipt " + c.Receipt)
				}
				l.receipts[c.Receipt] = true
			}
		}
		inv.Received, inv.Status, inv.Reason, inv.MpesaReceipt, inv.PaidAt = c.Received, c.Status, c.Reason, c.Receipt, c.PaidAt
	}
	if b := p.Bill; b != nil {
		l.invoices[b.Invoice].Bill = b.Bill
	}
	for _, m := range p.Moves {
		if m.PaymentID == 0 {
			m.PaymentID = newID
		}
		l.moves = append(l.moves, m)
	}
	if a := p.Application; a != nil {
		l.opened[huduma.InvoiceNumber(a.Invoice)] = a.Number
	}
	if n := p.NewRefund; n != nil {
		n.ID = int64(len(l.refunds) + 1)
		c := *n
		l.refunds = append(l.refunds, &c)
		if key.RefundKey != "" {
			l.refundKeys[key.RefundKey] = c.ID
		}
	}
	if c := p.Refund; c != nil {
		f := l.refund(c.ID)
		f.Status, f.ResultCode, f.ResultDesc = c.Status, c.ResultCode, c.ResultDesc
		if c.ConversationID != "" || c.OriginatorConversationID != "" {
			f.ConversationID, f.OriginatorConversationID = c.ConversationID, c.OriginatorConversationID
		}
	}
	for _, m := range p.Messages {
		if _, seen := l.texts[m.Dedupe]; !seen {
			l.texts[m.Dedupe] = m.Message
		}
	}
	l.audit = append(l.audit, p.Audit...)
}

// Invoice returns an invoice by number.
func (l *Ledger) Invoice(_ context.Context, n huduma.InvoiceNumber) (huduma.Invoice, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if inv, ok := l.invoices[n]; ok {
		return *inv, nil
	}
	return huduma.Invoice{}, huduma.ErrNotFound
}

// PaymentByTrans returns a payment by its transaction id.
func (l *Ledger) PaymentByTrans(_ context.Context, trans string) (huduma.ReceivedPayment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.byTrans[trans]; ok {
		return *l.payments[id-1], nil
	}
	return huduma.ReceivedPayment{}, huduma.ErrNotFound
}

// Messages returns the texts queued, by dedupe key.
func (l *Ledger) Messages() map[string]huduma.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]huduma.Message, len(l.texts))
	for k, m := range l.texts {
		out[k] = m
	}
	return out
}

// LedgerTotals sums the payments.
func (l *Ledger) LedgerTotals(context.Context) (huduma.LedgerTotals, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var t huduma.LedgerTotals
	for _, p := range l.payments {
		t.Payments++
		t.In, t.Applied, t.Suspense, t.Refunded = t.In+p.Amount, t.Applied+p.Applied, t.Suspense+p.Suspense, t.Refunded+p.Refunded
	}
	return t, nil
}

// VerifyLedger checks what the SQL store's VerifyLedger checks: the
// journal accounts for every payment's buckets, every invoice received
// what was applied to it, and an invoice is paid exactly when that
// reaches its total.
func (l *Ledger) VerifyLedger(context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	type buckets struct{ applied, suspense, refunded int64 }
	byPayment := map[int64]*buckets{}
	byInvoice := map[huduma.InvoiceNumber]int64{}
	for _, m := range l.moves {
		b := byPayment[m.PaymentID]
		if b == nil {
			b = &buckets{}
			byPayment[m.PaymentID] = b
		}
		switch m.To {
		case "applied":
			b.applied += m.Amount
			byInvoice[m.Invoice] += m.Amount
		case "suspense":
			b.suspense += m.Amount
		case "refunded":
			b.refunded += m.Amount
		}
		if m.From == "suspense" {
			b.suspense -= m.Amount
		}
	}
	for _, p := range l.payments {
		b := byPayment[p.ID]
		if b == nil {
			b = &buckets{}
		}
		if b.applied != p.Applied || b.suspense != p.Suspense || b.refunded != p.Refunded || p.Applied+p.Suspense+p.Refunded != p.Amount {
			out = append(out, "journal disagrees with payment: "+p.TransID)
		}
	}
	for n, inv := range l.invoices {
		if inv.Received != byInvoice[n] {
			out = append(out, "invoice received disagrees with journal: "+string(n))
		}
		if inv.Total > 0 && (inv.Status == huduma.InvoicePaid) != (inv.Received == inv.Total) || inv.Received > inv.Total {
			out = append(out, "invoice paid but not received in full, or received in full but not paid: "+string(n))
		}
	}
	sort.Strings(out)
	return out, nil
}
