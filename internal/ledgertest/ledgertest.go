// Package ledgertest drives the SQL store's money path the way the
// payments service does, for tests: every money event goes through the
// store's Settle with the rules (huduma.Settle) deciding, and each method
// has the shape of one step (create an invoice, queue a prompt, settle a
// prompt's result...), so a test reads as the story it tells. The store
// itself decides nothing; these are only the calls.
package ledgertest

import (
	"context"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// Ledger is a store with the money path's steps.
type Ledger struct {
	*sqlstore.DB
	// Cap is the strangers' prompt cap its prompts are held to (0: none).
	Cap int
}

// New wraps st.
func New(st *sqlstore.DB) Ledger { return Ledger{DB: st} }

// Clock is a settable time a test shares between a ledger and the
// workers it drives, so expiry and backoff are stepped, never waited for.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// OnClock wraps st on a Clock that starts at 2026-11-22 09:00 UTC.
func OnClock(st *sqlstore.DB) (Ledger, *Clock) {
	c := &Clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	return New(st).WithClock(c.Now), c
}

// WithClock is the store's WithClock, still with the steps.
func (l Ledger) WithClock(now func() time.Time) Ledger {
	return Ledger{DB: l.DB.WithClock(now), Cap: l.Cap}
}

// Apply runs one money event through the store and the rules.
func (l Ledger) Apply(ctx context.Context, ev huduma.MoneyEvent, t huduma.PaymentTexts) (huduma.Plan, error) {
	return l.Settle(ctx, ev.Key(), func(st huduma.LedgerState) (huduma.Plan, error) { return huduma.Settle(st, ev, t) })
}

// CreateInvoice creates an invoice with its text and first prompt, once
// per key; it reports whether it was made now.
func (l Ledger) CreateInvoice(ctx context.Context, o huduma.InvoiceOrder) (huduma.Invoice, bool, error) {
	p, err := l.Apply(ctx, huduma.InvoiceEvent{Order: o, Cap: l.Cap}, nil)
	if err != nil {
		return o.Invoice, false, err
	}
	if p.NewInvoice == nil {
		inv, err := l.Invoice(ctx, p.KeyInvoice.Number)
		return inv, false, err
	}
	inv := p.NewInvoice.Invoice
	return inv, true, nil
}

// QueuePush queues a prompt (a stranger's when payer is not the
// invoice's phone).
func (l Ledger) QueuePush(ctx context.Context, n huduma.InvoiceNumber, payer huduma.MSISDN, runAt time.Time, key string) (huduma.Attempt, error) {
	return l.prompt(ctx, huduma.PromptEvent{Invoice: n, Payer: payer, RunAt: runAt, Dedupe: key, Cap: l.Cap})
}

// QueuePushByPayer queues a prompt its payer asked for.
func (l Ledger) QueuePushByPayer(ctx context.Context, n huduma.InvoiceNumber, payer huduma.MSISDN, runAt time.Time, key string) (huduma.Attempt, error) {
	return l.prompt(ctx, huduma.PromptEvent{Invoice: n, Payer: payer, RunAt: runAt, Dedupe: key, ByPayer: true, Cap: l.Cap})
}

func (l Ledger) prompt(ctx context.Context, ev huduma.PromptEvent) (huduma.Attempt, error) {
	p, err := l.Apply(ctx, ev, nil)
	switch {
	case err != nil:
		return huduma.Attempt{}, err
	case p.Prompt != nil:
		return *p.Prompt, nil
	}
	return p.NewPrompt.Attempt, nil
}

// MarkPushSent records M-Pesa's acceptance of a prompt.
func (l Ledger) MarkPushSent(ctx context.Context, id int64, res huduma.STKPushResult, queryAt time.Time) error {
	_, err := l.Apply(ctx, huduma.PushAcceptedEvent{Attempt: id, Result: res, QueryAt: queryAt}, nil)
	return err
}

// GiveUpPush ends a queued prompt that will not be sent, texting its
// payer through t; it reports whether it ended it.
func (l Ledger) GiveUpPush(ctx context.Context, id int64, reason string, t huduma.PaymentTexts) (bool, error) {
	p, err := l.Apply(ctx, huduma.PushNotSentEvent{Attempt: id, Reason: reason}, t)
	return err == nil && p.Attempt != nil, err
}

// SettleSTK applies a prompt's result.
func (l Ledger) SettleSTK(ctx context.Context, res huduma.STKResult, t huduma.PaymentTexts) (huduma.Outcome, error) {
	p, err := l.Apply(ctx, huduma.STKResultEvent{Result: res}, t)
	return p.Outcome, err
}

// SettleC2B records a paybill payment.
func (l Ledger) SettleC2B(ctx context.Context, c huduma.C2BPayment, t huduma.PaymentTexts) (huduma.Settlement, error) {
	p, err := l.Apply(ctx, huduma.PaymentEvent{Payment: c}, t)
	return p.Settlement, err
}

// ApplyPayment applies held money to an invoice.
func (l Ledger) ApplyPayment(ctx context.Context, trans string, n huduma.InvoiceNumber, actor string, t huduma.PaymentTexts) (huduma.Settlement, error) {
	p, err := l.Apply(ctx, huduma.ApplyEvent{TransID: trans, Invoice: n, Actor: actor}, t)
	return p.Settlement, err
}

// QueueRefund asks for a refund; it reports whether it was made now.
func (l Ledger) QueueRefund(ctx context.Context, req huduma.RefundRequest) (huduma.Refund, bool, error) {
	p, err := l.Apply(ctx, huduma.RefundRequestEvent{Request: req}, nil)
	switch {
	case err != nil:
		return huduma.Refund{}, false, err
	case p.NewRefund != nil:
		return *p.NewRefund, true, nil
	}
	return *p.KeyRefund, false, nil
}

// ClaimRefund claims a queued refund; it reports whether this caller won.
func (l Ledger) ClaimRefund(ctx context.Context, id int64) (huduma.Refund, bool, error) {
	p, err := l.Apply(ctx, huduma.RefundStepEvent{Refund: id, Step: huduma.RefundClaim}, nil)
	if err != nil {
		return huduma.Refund{}, false, err
	}
	f, err := l.Refund(ctx, id)
	return f, p.Refund != nil, err
}

// UnclaimRefund puts a sending refund back.
func (l Ledger) UnclaimRefund(ctx context.Context, id int64, why string) error {
	_, err := l.Apply(ctx, huduma.RefundStepEvent{Refund: id, Step: huduma.RefundUnclaim, Why: why}, nil)
	return err
}

// MarkRefundSent records M-Pesa's acceptance of a reversal.
func (l Ledger) MarkRefundSent(ctx context.Context, id int64, acc huduma.ReversalAccepted) error {
	_, err := l.Apply(ctx, huduma.RefundStepEvent{Refund: id, Step: huduma.RefundAccepted, Accepted: acc}, nil)
	return err
}

// MarkRefundUnknown records that a reversal may or may not have reached
// M-Pesa.
func (l Ledger) MarkRefundUnknown(ctx context.Context, id int64, why string) error {
	_, err := l.Apply(ctx, huduma.RefundStepEvent{Refund: id, Step: huduma.RefundUnknown, Why: why}, nil)
	return err
}

// FailRefund ends a refund M-Pesa refused outright.
func (l Ledger) FailRefund(ctx context.Context, id int64, code, desc string) error {
	f, err := l.Refund(ctx, id)
	if err != nil {
		return err
	}
	_, err = l.Apply(ctx, huduma.RefundRefusedEvent{Refund: f, Code: code, Desc: desc}, nil)
	return err
}

// SettleReversal applies a reversal's result.
func (l Ledger) SettleReversal(ctx context.Context, res huduma.ReversalResult, t huduma.PaymentTexts) (huduma.Outcome, error) {
	p, err := l.Apply(ctx, huduma.ReversalEvent{Result: res}, t)
	return p.Outcome, err
}

// ExpireDue expires every payable invoice past its expiry; it returns
// how many.
func (l Ledger) ExpireDue(ctx context.Context) (int, error) {
	due, err := l.ExpiryCandidates(ctx, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, number := range due {
		p, err := l.Apply(ctx, huduma.ExpireEvent{Invoice: number}, nil)
		if err != nil {
			return n, err
		}
		if p.Invoice != nil {
			n++
		}
	}
	return n, nil
}
