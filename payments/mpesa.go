package payments

import (
	"context"
	"errors"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
)

// Mpesa prompts phones and asks for results: the M-Pesa provider contract
// (providers/daraja implements it, against Daraja or the simulator). A
// prompt the customer has not answered yet is a Pending result with a nil
// error. Failures match ErrOutage or ErrBusy when a later try may work;
// any other error is a refusal, and the prompt is given up.
type Mpesa interface {
	StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error)
	StkQuery(ctx context.Context, checkoutID string) (huduma.STKResult, error)
}

// The failures worth a later try.
var (
	// ErrOutage: the provider itself is failing (connection errors,
	// timeouts, 5xx, throttling). A circuit breaker counts these.
	ErrOutage = errors.New("m-pesa: provider unavailable")
	// ErrBusy: the customer's side is busy (a transaction in process for
	// the phone). Not the provider's health, so no breaker counts it.
	ErrBusy = errors.New("m-pesa: subscriber busy")
)

// retryable reports whether a failed call may work later: an outage, a
// busy subscriber, or a breaker holding calls back.
func retryable(err error) bool {
	return errors.Is(err, ErrOutage) || errors.Is(err, ErrBusy) || errors.Is(err, breaker.ErrOpen)
}

// WithBreaker puts a circuit breaker around mp: outages in a row open it,
// and while it is open calls fail at once (retryable), so an outage costs
// one fast error per job instead of a long wait each.
func WithBreaker(mp Mpesa, b *breaker.Breaker) Mpesa { return guarded{mp, b} }

type guarded struct {
	mp Mpesa
	b  *breaker.Breaker
}

func outage(err error) bool { return errors.Is(err, ErrOutage) }

func (g guarded) StkPush(ctx context.Context, p huduma.STKPush) (res huduma.STKPushResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkPush(ctx, p); return err }, outage)
	return res, err
}

func (g guarded) StkQuery(ctx context.Context, id string) (res huduma.STKResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkQuery(ctx, id); return err }, outage)
	return res, err
}

// Puller reads the paybill's transactions from M-Pesa itself (Daraja's
// Pull Transactions API): the way to find payments
// whose confirmation never reached us.
type Puller interface {
	// PullTransactions returns the page of transactions completed between
	// from and to that starts at row offset.
	PullTransactions(ctx context.Context, from, to time.Time, offset int) (PullPage, error)
}

// PullPage is one page of pulled transactions.
type PullPage struct {
	// Payments are the customer payments on the page.
	Payments []huduma.PaybillPayment
	// Rows is how many rows the page had, payments or not: the next page
	// starts that many rows further.
	Rows int
	// Other counts, by type, the rows that are not customer payments.
	Other map[string]int
	// Refused says, for each customer-payment row that cannot be an
	// M-Pesa payment (no id, a fraction, zero, more than MaxPayment), why
	// it was left out.
	Refused []string
}

// Reverser reverses a payment (Daraja's Transaction Reversal API): the answer only accepts the request; the outcome
// comes later on the result callback. It never retries on its own, since
// a second request could be a second reversal. A failure matches
// ErrNotSent when the request certainly did not reach M-Pesa (it may be
// sent later); ErrOutage alone means it may have (never sent again); any
// other error is a refusal (the refund fails).
type Reverser interface {
	Reverse(ctx context.Context, r huduma.ReversalRequest) (huduma.ReversalAccepted, error)
}

// ErrNotSent marks a request that certainly never reached the provider.
var ErrNotSent = errors.New("m-pesa: request not sent")
