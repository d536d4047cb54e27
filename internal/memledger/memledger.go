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
	attempts   []*huduma.Attempt
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
		checkouts: map[string]int64{}, byTrans: map[string]int64{}, byInvoice: map[huduma.InvoiceNumber][]int64{}, receipts: map[string]bool{}, refundKeys: map[string]int64{}, opened: map[huduma.InvoiceNumber]string{}, texts: map[string]huduma.Message{}}
}

// CreateInvoice records an invoice (once per key) with its first prompt.
func (l *Ledger) CreateInvoice(_ context.Context, o huduma.InvoiceOrder) (huduma.Invoice, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.Key != "" {
		if n, ok := l.keys[o.Key]; ok {
			return *l.invoices[n], false, nil
		}
	}
	inv := o.Invoice
	if _, dup := l.invoices[inv.Number]; dup {
		return inv, false, huduma.Errorf(huduma.EConflict, "invoice number already used")
	}
	inv.Status = huduma.InvoicePending
	l.invoices[inv.Number] = &inv
	if o.Key != "" {
		l.keys[o.Key] = inv.Number
	}
	if o.Push != nil {
		l.newAttempt(inv, o.Push.Payer)
	}
	return inv, true, nil
}

func (l *Ledger) newAttempt(inv huduma.Invoice, payer huduma.MSISDN) huduma.Attempt {
	now := l.now()
	a := &huduma.Attempt{ID: int64(len(l.attempts) + 1), Invoice: inv.Number, Payer: payer, Amount: inv.Due(), Status: huduma.AttemptQueued,
		CreatedAt: now, UpdatedAt: now}
	l.attempts = append(l.attempts, a)
	return *a
}

// QueuePush queues a prompt for a payable invoice with none in flight.
func (l *Ledger) QueuePush(_ context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, _ time.Time, _ string) (huduma.Attempt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, ok := l.invoices[number]
	switch {
	case !ok:
		return huduma.Attempt{}, huduma.Errorf(huduma.ENotFound, "no invoice %s", number)
	case !inv.Payable():
		return huduma.Attempt{}, huduma.Errorf(huduma.EConflict, "invoice %s is %s", number, inv.Status)
	}
	for _, a := range l.attempts {
		if a.Invoice == number && a.Status.InFlight() {
			if l.now().Sub(a.UpdatedAt) < huduma.PromptLife {
				return huduma.Attempt{}, huduma.Errorf(huduma.EConflict, "a prompt for invoice %s is already on its way", number)
			}
			a.Status = huduma.AttemptStale
		}
	}
	return l.newAttempt(*inv, payer), nil
}

// MarkPushSent records M-Pesa's acceptance of a queued prompt.
func (l *Ledger) MarkPushSent(_ context.Context, id int64, res huduma.STKPushResult, _ time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.attempt(id); a != nil && a.Status == huduma.AttemptQueued {
		a.Status, a.CheckoutRequestID, a.MerchantRequestID, a.UpdatedAt = huduma.AttemptSent, res.CheckoutRequestID, res.MerchantRequestID, l.now()
		l.checkouts[res.CheckoutRequestID] = id
	}
	return nil
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

// ClaimRefund moves a queued refund to sending; only one caller wins.
func (l *Ledger) ClaimRefund(_ context.Context, id int64) (huduma.Refund, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.refund(id)
	if f == nil {
		return huduma.Refund{}, false, huduma.ErrNotFound
	}
	if f.Status != huduma.RefundQueued {
		return *f, false, nil
	}
	f.Status = huduma.RefundSending
	return *f, true, nil
}

// MarkRefundSent records that M-Pesa accepted a sending refund.
func (l *Ledger) MarkRefundSent(_ context.Context, id int64, acc huduma.ReversalAccepted) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.refund(id)
	if f == nil || f.Status != huduma.RefundSending {
		return huduma.Errorf(huduma.EConflict, "refund %d is not sending", id)
	}
	f.Status, f.ConversationID, f.OriginatorConversationID = huduma.RefundSent, acc.ConversationID, acc.OriginatorConversationID
	return nil
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
	if inv, ok := l.invoices[number]; ok && number != "" {
		c := *inv
		st.Invoice = &c
		for _, id := range l.byInvoice[number] {
			st.InvoicePayments = append(st.InvoicePayments, *l.payments[id-1])
		}
		_, st.HasApplication = l.opened[number]
	}
	l.apps++
	st.NewApplication = fmt.Sprintf("APP%07d", l.apps)
	plan, err := decide(st)
	if err != nil {
		return plan, err
	}
	l.write(key, plan)
	return plan, nil
}

// write applies a plan, giving its new payment and refund their ids.
func (l *Ledger) write(key huduma.LedgerKey, p huduma.Plan) {
	now := l.now()
	if c := p.Attempt; c != nil {
		a := l.attempt(c.ID)
		a.Status, a.ResultCode, a.ResultDesc, a.UpdatedAt = c.Status, c.ResultCode, c.ResultDesc, now
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
