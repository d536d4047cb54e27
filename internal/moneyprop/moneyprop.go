// Package moneyprop is the conservation property of the money rules, run
// on any ledger that loads state for a key and writes the plan
// huduma.Settle decides: the in-memory ledger (internal/memledger, many
// thousands of sequences in seconds) and both SQL stores (the store
// conformance suite). Over random sequences of payments (right, short,
// over, repeated, to paid, expired and unknown accounts, by paybill, by
// prompt and by e-Citizen notification, to an invoice number or to a bill
// number), of e-Citizen bills learned, checkouts given up and prompts
// asked again, of officers applying held money, and of refunds that
// succeed or fail, the ledger does exactly what a model of the accumulate
// rule predicts, and money in always equals applied + suspense +
// refunded.
package moneyprop

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// HUDUMA_PROPERTY_SEED replays a run; HUDUMA_PROPERTY_SEQUENCES sets how
// many sequences (default Options.Sequences; 300 with -short).

// Ledger is what the property drives: every money event, from the
// invoice's creation on, through Settle, and the reads it checks the
// model against.
type Ledger interface {
	AttemptByCheckout(ctx context.Context, checkoutID string) (huduma.Attempt, error)
	Settle(ctx context.Context, key huduma.LedgerKey, decide func(huduma.LedgerState) (huduma.Plan, error)) (huduma.Plan, error)
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	PaymentByTrans(ctx context.Context, transID string) (huduma.ReceivedPayment, error)
	VerifyLedger(ctx context.Context) ([]string, error)
	LedgerTotals(ctx context.Context) (huduma.LedgerTotals, error)
}

// Options sets a run.
type Options struct {
	// Name names the ledger in the figure the run records.
	Name string
	// Sequences is how many random sequences to run.
	Sequences int
	// Workers run sequences at once (they share no invoice and no
	// payment), so a database's round trips overlap.
	Workers int
	// NewInvoice makes an invoice of total with the given 9-digit body
	// (the store's tests need one of their catalog's services).
	NewInvoice func(body string, total int64, now time.Time) huduma.Invoice
}

type modelInvoice struct {
	number huduma.InvoiceNumber
	phone  huduma.MSISDN
	total  int64
	// bill is the e-Citizen bill number stored on it (ecitizen backend).
	bill     string
	received int64
	expired  bool
	prompt   string // checkout of the prompt in flight, if any
	// provisional are the prompts' payments settled without a receipt;
	// sincePrompt the paybill payments from a number that can be the
	// prompted one since the prompt in flight was made (the store matches
	// a receipt-less prompt success to one of those).
	provisional, sincePrompt []string
}

func (m *modelInvoice) paid() bool { return m.received >= m.total }

type modelPayment struct {
	amount, applied, suspense, refunded int64
	reason                              huduma.SuspenseReason
	// refunding is the conversation id of the refund on its way, if any;
	// timedOut, that its result came on the queue-timeout URL (not an
	// answer: the refund is still on its way).
	refunding string
	timedOut  bool
}

// conservation is the model of one worker's sequences and the store.
type conservation struct {
	t        *testing.T
	l        Ledger
	r        *rand.Rand
	seed     int64
	seq      int
	invoices []*modelInvoice
	payments map[string]*modelPayment
	trans    []string
	n        int
	now      func() time.Time
	// newInvoice makes the sequence's invoices.
	newInvoice func(body string, total int64, now time.Time) huduma.Invoice
	// adopted, matched and applies count the rarer paths taken.
	adopted, matched, applies, refunds, ops int
	// bills and billPays count the e-Citizen events: bills learned,
	// payments notified.
	bills, billPays int
	// totals over the worker's sequences so far
	in, applied, suspense, refunded int64
}

// fail reports a disagreement with what replays it and ends the worker.
func (c *conservation) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf("seed %d, sequence %d (rerun with HUDUMA_PROPERTY_SEED=%d): %s", c.seed, c.seq, c.seed, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// Clock is the clock a ledger under the property must read: every
// reading is a millisecond later than the last, so "recorded since the
// prompt was made" is exact.
type Clock struct{ ms atomic.Int64 }

// NewClock starts a clock at start.
func NewClock(start time.Time) *Clock {
	c := &Clock{}
	c.ms.Store(start.UnixMilli())
	return c
}

// Tick reads the clock, moving it on by a millisecond.
func (c *Clock) Tick() time.Time { return time.UnixMilli(c.ms.Add(1)) }

// Now reads the clock without moving it.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// Run runs the property on l, whose clock must be clock.Tick.
func Run(t *testing.T, l Ledger, clock *Clock, opt Options) {
	ctx := context.Background()
	seed := envInt("HUDUMA_PROPERTY_SEED", time.Now().UnixNano())
	sequences := int(envInt("HUDUMA_PROPERTY_SEQUENCES", int64(opt.Sequences)))
	if testing.Short() {
		sequences = min(sequences, 300)
	}
	now := clock.Now
	start := time.Now()
	workers := make([]*conservation, max(opt.Workers, 1))
	var wg sync.WaitGroup
	for w := range workers {
		c := &conservation{t: t, l: l, seed: seed, now: now, newInvoice: opt.NewInvoice}
		workers[w] = c
		wg.Go(func() {
			for c.seq = w; c.seq < sequences; c.seq += len(workers) {
				// Each sequence has its own generator, so the seed and the
				// sequence number replay it alone.
				c.r = rand.New(rand.NewSource(seed + int64(c.seq)))
				c.invoices, c.payments, c.trans = nil, map[string]*modelPayment{}, nil
				for i := 0; i < 1+c.r.Intn(2); i++ {
					c.addInvoice(ctx)
				}
				for i := 0; i < 1+c.r.Intn(5); i++ {
					c.step(ctx)
					c.ops++
				}
				c.check(ctx)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sum := conservation{}
	for _, c := range workers {
		sum.in, sum.applied, sum.suspense, sum.refunded = sum.in+c.in, sum.applied+c.applied, sum.suspense+c.suspense, sum.refunded+c.refunded
		sum.ops, sum.adopted, sum.matched, sum.applies = sum.ops+c.ops, sum.adopted+c.adopted, sum.matched+c.matched, sum.applies+c.applies
		sum.refunds, sum.bills, sum.billPays = sum.refunds+c.refunds, sum.bills+c.bills, sum.billPays+c.billPays
	}
	if problems, err := l.VerifyLedger(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("seed %d: ledger: %v %v", seed, problems, err)
	}
	tot, err := l.LedgerTotals(ctx)
	if err != nil || tot.In != sum.in || tot.Applied != sum.applied || tot.Suspense != sum.suspense || tot.Refunded != sum.refunded ||
		tot.In != tot.Applied+tot.Suspense+tot.Refunded {
		t.Fatalf("seed %d: totals %+v %v, model in %d applied %d suspense %d refunded %d", seed, tot, err, sum.in, sum.applied, sum.suspense, sum.refunded)
	}
	testenv.Figure(t, "conservation on %s: %d random sequences, %d operations (%d receipts learned, %d prompts matched to paybill payments, "+
		"%d officer applies, %d refund results, %d e-Citizen bills, %d e-Citizen payments), KES %d in = %d applied + %d held + %d refunded, in %s (seed %d)",
		opt.Name, sequences, sum.ops, sum.adopted, sum.matched, sum.applies, sum.refunds, sum.bills, sum.billPays, tot.In, tot.Applied, tot.Suspense, tot.Refunded, time.Since(start).Round(time.Millisecond), seed)
}

// settle runs one money event through the ledger and the rules.
func (c *conservation) settle(ctx context.Context, ev huduma.MoneyEvent) (huduma.Plan, error) {
	return c.l.Settle(ctx, ev.Key(), func(st huduma.LedgerState) (huduma.Plan, error) { return huduma.Settle(st, ev, texts{}) })
}

func (c *conservation) addInvoice(ctx context.Context) {
	body := fmt.Sprintf("%09d", 500000000+c.seq*10+len(c.invoices))
	now := c.now()
	total := int64(100 + c.r.Intn(50)*100)
	inv := c.newInvoice(body, total, now)
	m := &modelInvoice{number: inv.Number, phone: inv.Phone, total: total}
	if c.r.Intn(8) == 0 {
		inv.ExpiresAt = now.Add(-time.Minute) // the sweep expires it
		m.expired = true
	}
	order := huduma.InvoiceOrder{Invoice: inv}
	if c.r.Intn(2) == 0 {
		// On the ecitizen backend the invoice queues its checkout.
		order.Checkout = &huduma.CheckoutJob{Invoice: inv.Number, Payer: inv.Phone}
	}
	if p, err := c.settle(ctx, huduma.InvoiceEvent{Order: order}); err != nil || p.NewInvoice == nil {
		c.fail("create invoice: %+v %v", p.NewInvoice, err)
	}
	if m.expired {
		if p, err := c.settle(ctx, huduma.ExpireEvent{Invoice: inv.Number}); err != nil || p.Invoice == nil || p.Invoice.Status != huduma.InvoiceExpired {
			c.fail("expire: %+v %v", p.Invoice, err)
		}
	}
	c.invoices = append(c.invoices, m)
}

// step runs one random operation against the store and the model.
func (c *conservation) step(ctx context.Context) {
	switch k := c.r.Intn(24); {
	case k < 11:
		c.pay(ctx)
	case k < 13 && len(c.trans) > 0:
		c.replay(ctx)
	case k < 16:
		c.prompt(ctx)
	case k < 18:
		c.apply(ctx)
	case k < 19:
		c.refund(ctx)
	case k < 21:
		c.billPay(ctx)
	case k < 23:
		c.bill(ctx)
	default:
		c.addInvoice(ctx)
	}
}

// bill runs one of the checkout job's events for a random invoice: the
// bill number e-Citizen answered (new, the same again, or another one,
// which never replaces the first), the job giving up, or a repeat
// checkout asking for a prompt.
func (c *conservation) bill(ctx context.Context) {
	inv := c.invoices[c.r.Intn(len(c.invoices))]
	payable := !inv.paid() && !inv.expired
	switch c.r.Intn(4) {
	case 0:
		want := huduma.OutcomeCheckoutFailed
		if inv.bill != "" || !payable {
			want = huduma.OutcomeDuplicate
		}
		plan, err := c.settle(ctx, huduma.CheckoutFailedEvent{Invoice: inv.number, Reason: "property"})
		if err != nil || plan.Outcome != want {
			c.fail("checkout failed for %s (bill %q, payable %v): %s %v, want %s", inv.number, inv.bill, payable, plan.Outcome, err, want)
		}
	case 1:
		c.n++
		plan, err := c.settle(ctx, huduma.CheckoutEvent{Invoice: inv.number, Payer: inv.phone, Dedupe: fmt.Sprintf("reprompt-%d", c.n)})
		if want := payable && inv.bill != ""; want != (err == nil) || want && plan.Outcome != "queued" || !want && huduma.ErrorCode(err) != huduma.EConflict {
			c.fail("prompt again for %s (bill %q, payable %v): %s %v", inv.number, inv.bill, payable, plan.Outcome, err)
		}
	default:
		c.n++
		bill, want := fmt.Sprintf("B%dX%dX%d", c.seed%1000, c.seq, c.n), huduma.OutcomeBilled
		switch {
		case inv.bill != "" && c.r.Intn(2) == 0:
			bill, want = inv.bill, huduma.OutcomeDuplicate
		case inv.bill != "":
			want = huduma.OutcomeBillConflict
		}
		plan, err := c.settle(ctx, huduma.BillEvent{Invoice: inv.number, Bill: bill, Shown: c.r.Intn(2) == 0})
		if err != nil || plan.Outcome != want {
			c.fail("bill %s for %s (bill %q): %s %v, want %s", bill, inv.number, inv.bill, plan.Outcome, err, want)
		}
		if want == huduma.OutcomeBilled {
			inv.bill = bill
			c.bills++
		}
	}
}

// billPay settles a payment e-Citizen notified: to an invoice by its
// number, to a billed invoice by its bill number alone, or to a bill
// nobody issued. It comes from a number no prompt went to, as a payment
// by another network would.
func (c *conservation) billPay(ctx context.Context) {
	inv := c.pickInvoice()
	c.n++
	p := huduma.C2BPayment{TransID: fmt.Sprintf("EC%dX%dX%d", c.seed%1000, c.seq, c.n), Amount: int64(1 + c.r.Intn(5000)),
		Source: huduma.SourceECitizen, MSISDN: payers[0]}
	ev := huduma.PaymentEvent{Payment: p}
	key := ev.Key()
	switch {
	case inv == nil:
		p.Account = fmt.Sprintf("NOBILL%d", c.n)
		key.Bill = p.Account
	case inv.bill != "" && c.r.Intn(2) == 0:
		p.Account, p.Amount = inv.bill, c.amountFor(inv)
		key.Bill = inv.bill
	default:
		p.Invoice, p.Account, p.Amount = inv.number, inv.bill, c.amountFor(inv)
		key = huduma.PaymentEvent{Payment: p}.Key()
	}
	ev.Payment = p
	want, mp := c.expect(inv, p.Amount)
	plan, err := c.l.Settle(ctx, key, func(st huduma.LedgerState) (huduma.Plan, error) { return huduma.Settle(st, ev, texts{}) })
	if got := plan.Settlement; err != nil || got != want {
		c.fail("e-Citizen payment %+v: %+v %v, want %+v", p, got, err, want)
	}
	c.record(p.TransID, mp)
	c.billPays++
}

// refund settles a refund on its way, or asks for one of a held payment
// (and, half the time, settles it at once): it succeeds or fails at
// random.
func (c *conservation) refund(ctx context.Context) {
	var pending, held []string
	for _, trans := range c.trans {
		p := c.payments[trans]
		switch {
		case p.refunding != "":
			pending = append(pending, trans)
		case p.suspense > 0 && !strings.HasPrefix(trans, huduma.ProvisionalPrefix):
			held = append(held, trans)
		}
	}
	if len(pending) > 0 {
		c.settleRefund(ctx, pending[c.r.Intn(len(pending))])
		return
	}
	if len(held) == 0 {
		c.pay(ctx)
		return
	}
	trans := held[c.r.Intn(len(held))]
	p := c.payments[trans]
	plan, err := c.settle(ctx, huduma.RefundRequestEvent{Request: huduma.RefundRequest{TransID: trans, Actor: "property"}})
	if err != nil || plan.NewRefund == nil || plan.NewRefund.Amount != p.suspense {
		c.fail("refund %s: %+v %v, want KES %d", trans, plan.NewRefund, err, p.suspense)
	}
	f := *plan.NewRefund
	if plan, err := c.settle(ctx, huduma.RefundStepEvent{Refund: f.ID, Step: huduma.RefundClaim}); err != nil || plan.Outcome != huduma.Outcome(huduma.RefundClaim) {
		c.fail("claim refund %d: %s %v", f.ID, plan.Outcome, err)
	}
	c.n++
	p.refunding = fmt.Sprintf("OC-%d-%d-%d", c.seed%1000, c.seq, c.n)
	if _, err := c.settle(ctx, huduma.RefundStepEvent{Refund: f.ID, Step: huduma.RefundAccepted,
		Accepted: huduma.ReversalAccepted{OriginatorConversationID: p.refunding}}); err != nil {
		c.fail("refund sent: %v", err)
	}
	if c.r.Intn(2) == 0 {
		c.settleRefund(ctx, trans)
	}
}

func (c *conservation) settleRefund(ctx context.Context, trans string) {
	p := c.payments[trans]
	res := huduma.ReversalResult{OriginatorConversationID: p.refunding, ResultCode: "0"}
	want := huduma.OutcomeRefunded
	switch {
	case c.r.Intn(3) == 0:
		// A queue timeout (again, once it came): nothing moves; a later
		// result, success included, still settles the refund.
		res.ResultCode, res.TimedOut, want = "1", true, huduma.OutcomeRefundTimedOut
		if p.timedOut {
			want = huduma.OutcomeDuplicate
		}
	case c.r.Intn(3) == 0:
		res.ResultCode, want = "R000002", huduma.OutcomeRefundFailed
	}
	c.refunds++
	plan, err := c.settle(ctx, huduma.ReversalEvent{Result: res})
	if out := plan.Outcome; err != nil || out != want {
		c.fail("refund result for %s: %s %v, want %s", trans, out, err, want)
	}
	if res.TimedOut {
		p.timedOut = true
		return
	}
	p.refunding, p.timedOut = "", false
	if want == huduma.OutcomeRefundFailed {
		p.reason = huduma.ReasonRefundFailed
		return
	}
	c.suspense, c.refunded = c.suspense-p.suspense, c.refunded+p.suspense
	p.refunded, p.suspense = p.refunded+p.suspense, 0
}

// amountFor picks a payment for inv: exact, short, over, tiny or large.
func (c *conservation) amountFor(inv *modelInvoice) int64 {
	due := max(inv.total-inv.received, 1)
	switch c.r.Intn(5) {
	case 0:
		return due
	case 1:
		return max(due-int64(1+c.r.Intn(int(due))), 1)
	case 2:
		return due + int64(1+c.r.Intn(500))
	case 3:
		return int64(1 + c.r.Intn(10))
	}
	return int64(1 + c.r.Intn(int(inv.total)))
}

// expect applies the accumulate rule to the model.
func (c *conservation) expect(inv *modelInvoice, amount int64) (huduma.Settlement, *modelPayment) {
	p := &modelPayment{amount: amount}
	s := huduma.Settlement{}
	switch {
	case inv == nil:
		p.reason = huduma.ReasonUnknownAccount
	case inv.paid():
		p.reason = huduma.ReasonInvoicePaid
	case inv.expired:
		p.reason = huduma.ReasonInvoiceExpired
	default:
		p.applied = min(amount, inv.total-inv.received)
		if p.applied < amount {
			p.reason = huduma.ReasonOverpaid
		}
	}
	p.suspense = amount - p.applied
	s.Applied, s.Suspense, s.Reason = p.applied, p.suspense, p.reason
	switch {
	case p.applied == 0:
		s.Outcome = huduma.OutcomeSuspense
	case inv.received+p.applied < inv.total:
		s.Outcome = huduma.OutcomePartial
	case p.suspense > 0:
		s.Outcome = huduma.OutcomeOverpaid
	default:
		s.Outcome = huduma.OutcomePaid
	}
	if inv != nil {
		inv.received += p.applied
		s.Invoice = inv.number
	}
	return s, p
}

func (c *conservation) record(trans string, p *modelPayment) {
	c.payments[trans] = p
	c.trans = append(c.trans, trans)
	c.in += p.amount
	c.applied += p.applied
	c.suspense += p.suspense
}

func (c *conservation) pickInvoice() *modelInvoice {
	if len(c.invoices) == 0 || c.r.Intn(6) == 0 {
		return nil
	}
	return c.invoices[c.r.Intn(len(c.invoices))]
}

// payers are the numbers paybill payments come from: masked so that it
// cannot be the prompted +254712345678, masked so that it can, and none.
var payers = []string{"2547 ***** 126", "2547 ***** 678", ""}

func (c *conservation) pay(ctx context.Context) {
	inv := c.pickInvoice()
	c.n++
	trans := fmt.Sprintf("P%d-%d-%d", c.seed%1000, c.seq, c.n)
	p := huduma.C2BPayment{TransID: trans, Amount: int64(1 + c.r.Intn(5000)), Source: huduma.SourceC2B, MSISDN: payers[c.r.Intn(len(payers))]}
	if inv != nil {
		p.Invoice, p.Amount = inv.number, c.amountFor(inv)
		if len(inv.provisional) > 0 && c.r.Intn(2) == 0 {
			// The receipt of a prompt's payment arrives (pulled, confirmed).
			p.Amount = c.payments[inv.provisional[0]].amount
		}
	} else if c.r.Intn(2) == 0 {
		p.Account = "1234567890" // a well-formed number of no invoice
	} else {
		p.Account = "wrong " + strconv.Itoa(c.r.Intn(99))
	}
	canBePrompted := p.MSISDN != payers[0]
	if inv != nil && canBePrompted {
		for i, prov := range inv.provisional {
			if c.payments[prov].amount == p.Amount {
				// The receipt of a prompt's payment a status query settled.
				plan, err := c.settle(ctx, huduma.PaymentEvent{Payment: p})
				if got := plan.Settlement; err != nil || got.Outcome != huduma.OutcomeDuplicate {
					c.fail("receipt of provisional %s: %+v %v", prov, got, err)
				}
				c.payments[trans] = c.payments[prov]
				delete(c.payments, prov)
				for k := range c.trans {
					if c.trans[k] == prov {
						c.trans[k] = trans
					}
				}
				inv.provisional = append(inv.provisional[:i:i], inv.provisional[i+1:]...)
				c.adopted++
				return
			}
		}
	}
	want, mp := c.expect(inv, p.Amount)
	plan, err := c.settle(ctx, huduma.PaymentEvent{Payment: p})
	if got := plan.Settlement; err != nil || got != want {
		c.fail("pay %+v: %+v %v, want %+v", p, got, err, want)
	}
	c.record(trans, mp)
	if inv != nil && canBePrompted && inv.prompt != "" {
		inv.sincePrompt = append(inv.sincePrompt, trans)
	}
}

// replay delivers a payment already recorded again: nothing changes.
func (c *conservation) replay(ctx context.Context) {
	trans := c.trans[c.r.Intn(len(c.trans))]
	if strings.HasPrefix(trans, huduma.ProvisionalPrefix) {
		c.pay(ctx) // a receipt-less prompt success has no id to deliver again
		return
	}
	p := c.payments[trans]
	plan, err := c.settle(ctx, huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: trans, Account: "again", Amount: p.amount, Source: huduma.SourcePull}})
	if got := plan.Settlement; err != nil || got.Outcome != huduma.OutcomeDuplicate {
		c.fail("replay %s: %+v %v", trans, got, err)
	}
}

// prompt sends an STK prompt for an unpaid invoice, or settles the one
// in flight: with a receipt (a callback) or without (a status query).
func (c *conservation) prompt(ctx context.Context) {
	var inv *modelInvoice
	for _, m := range c.invoices {
		if m.prompt != "" {
			inv = m // settle the prompt in flight, whatever happened since
			break
		}
		if !m.paid() && !m.expired {
			inv = m
		}
	}
	if inv == nil {
		c.pay(ctx)
		return
	}
	if inv.prompt == "" {
		plan, err := c.settle(ctx, huduma.PromptEvent{Invoice: inv.number, Payer: "+254712345678", RunAt: time.Now()})
		if err != nil || plan.NewPrompt == nil {
			c.fail("push: %v", err)
		}
		a := plan.NewPrompt.Attempt
		if a.Amount != inv.total-inv.received {
			c.fail("prompt for %d, want the balance %d", a.Amount, inv.total-inv.received)
		}
		inv.prompt = fmt.Sprintf("ws_CO_%d_%d_%d", c.seed%1000, c.seq, c.n)
		inv.sincePrompt = nil
		c.n++
		if plan, err := c.settle(ctx, huduma.PushAcceptedEvent{Attempt: a.ID, Result: huduma.STKPushResult{CheckoutRequestID: inv.prompt},
			QueryAt: time.Now()}); err != nil || plan.Outcome != "sent" {
			c.fail("push sent: %s %v", plan.Outcome, err)
		}
		return
	}
	a, err := c.l.AttemptByCheckout(ctx, inv.prompt)
	if err != nil {
		c.fail("attempt: %v", err)
	}
	res := huduma.STKResult{CheckoutRequestID: inv.prompt, ResultCode: "0", Amount: a.Amount}
	trans := huduma.ProvisionalPrefix + inv.prompt
	if c.r.Intn(2) == 0 {
		c.n++
		res.Receipt = fmt.Sprintf("S%d-%d-%d", c.seed%1000, c.seq, c.n)
		trans = res.Receipt
	}
	inv.prompt = ""
	if res.Receipt == "" {
		for i, trans := range inv.sincePrompt {
			if c.payments[trans] != nil && c.payments[trans].amount == a.Amount {
				// The paybill confirmation of this very payment came first.
				plan, err := c.settle(ctx, huduma.STKResultEvent{Result: res})
				if out := plan.Outcome; err != nil || out != huduma.OutcomeDuplicate {
					c.fail("query after %s: %s %v", trans, out, err)
				}
				inv.sincePrompt = append(inv.sincePrompt[:i:i], inv.sincePrompt[i+1:]...)
				c.matched++
				return
			}
		}
	}
	want, mp := c.expect(inv, a.Amount)
	plan, err := c.settle(ctx, huduma.STKResultEvent{Result: res})
	if out := plan.Outcome; err != nil || out != want.Outcome {
		c.fail("settle prompt %+v: %s %v, want %+v", res, out, err, want)
	}
	c.record(trans, mp)
	if res.Receipt == "" {
		inv.provisional = append(inv.provisional, trans)
	}
}

// apply has an officer apply a held payment to an invoice.
func (c *conservation) apply(ctx context.Context) {
	var held []string
	for _, trans := range c.trans {
		if c.payments[trans].suspense > 0 {
			held = append(held, trans)
		}
	}
	inv := c.pickInvoice()
	if len(held) == 0 || inv == nil {
		c.pay(ctx)
		return
	}
	trans := held[c.r.Intn(len(held))]
	p := c.payments[trans]
	plan, err := c.settle(ctx, huduma.ApplyEvent{TransID: trans, Invoice: inv.number, Actor: "property"})
	got := plan.Settlement
	if inv.paid() || inv.expired || p.refunding != "" {
		if huduma.ErrorCode(err) != huduma.EConflict {
			c.fail("apply %s to %s (paid %v, expired %v, refunding %v): %+v %v, want a conflict", trans, inv.number, inv.paid(), inv.expired,
				p.refunding != "", got, err)
		}
		return
	}
	amount := min(p.suspense, inv.total-inv.received)
	inv.received += amount
	c.applies++
	p.applied, p.suspense = p.applied+amount, p.suspense-amount
	c.applied, c.suspense = c.applied+amount, c.suspense-amount
	want := huduma.Settlement{Outcome: huduma.OutcomePartial, Invoice: inv.number, Applied: amount, Suspense: p.suspense}
	switch {
	case inv.paid() && p.suspense > 0:
		want.Outcome, want.Reason = huduma.OutcomeOverpaid, huduma.ReasonOverpaid
		p.reason = huduma.ReasonOverpaid
	case inv.paid():
		want.Outcome = huduma.OutcomePaid
	}
	if err != nil || got != want {
		c.fail("apply %s to %s: %+v %v, want %+v", trans, inv.number, got, err, want)
	}
}

// check compares the store with the model after a sequence.
func (c *conservation) check(ctx context.Context) {
	for _, m := range c.invoices {
		inv, err := c.l.Invoice(ctx, m.number)
		if err != nil {
			c.fail("invoice: %v", err)
		}
		paid := inv.Status == huduma.InvoicePaid
		if inv.Received != m.received || paid != m.paid() || inv.Bill != m.bill {
			c.fail("invoice %s: received %d paid %v bill %q, want %d %v %q", m.number, inv.Received, paid, inv.Bill, m.received, m.paid(), m.bill)
		}
	}
	for trans, m := range c.payments {
		p, err := c.l.PaymentByTrans(ctx, trans)
		if err != nil {
			c.fail("payment %s: %v", trans, err)
		}
		state := huduma.PaymentApplied
		switch {
		case m.refunding != "":
			state = huduma.PaymentRefunding
		case m.suspense > 0:
			state = huduma.PaymentSuspense
		case m.refunded > 0:
			state = huduma.PaymentRefunded
		}
		if p.Amount != m.amount || p.Applied != m.applied || p.Suspense != m.suspense || p.Refunded != m.refunded || p.State != state ||
			(m.suspense > 0 && p.Reason != m.reason) {
			c.fail("payment %s: %+v, want %+v in %s", trans, p, *m, state)
		}
	}
}

// texts renders the texts a settlement queues, with what the property
// can check.
type texts struct{}

func (texts) Receipt(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: "receipt " + string(inv.Number)}
}

func (texts) PromptUnsent(inv huduma.Invoice, payer huduma.MSISDN) huduma.Message {
	return huduma.Message{To: payer, Kind: huduma.MessagePayment, Body: "no prompt for " + string(inv.Number)}
}

func (texts) Billed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "bill " + inv.Bill}
}

func (texts) CheckoutFailed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessagePayment, Body: "not billed " + string(inv.Number)}
}

func (texts) Notice(n huduma.PaymentNotice) (huduma.Message, bool) {
	to := n.Payment.Phone
	if to == "" && n.Invoice != nil {
		to = n.Invoice.Phone
	}
	if to == "" {
		return huduma.Message{}, false
	}
	return huduma.Message{To: to, Kind: huduma.MessagePayment, Body: fmt.Sprintf("%s %s %d", n.Kind, n.Payment.TransID, n.Amount)}, true
}
