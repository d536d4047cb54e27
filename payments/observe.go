package payments

import (
	"errors"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Observer hears of the money path's events for metrics (package metrics
// implements it). Calls must be quick.
type Observer interface {
	// STKPush: a push request to Daraja ended accepted, refused (Daraja
	// or the subscriber said no: a bad number, an invalid request, a busy
	// phone) or error (an outage, a timeout, the breaker open).
	STKPush(outcome string)
	// STKResult: a prompt's result (callback or status query) decided
	// it, with Daraja's ResultCode. Repeats and results for nothing of
	// ours are not reported.
	STKResult(code string)
	// StoreError: a store call failed for a reason not the caller's; op
	// is "invoice", "ledger" or "jobs".
	StoreError(op string)
	// InvoiceCreated: a new invoice (not a replay of its key).
	InvoiceCreated()
	// InvoicePaid: an invoice became paid, took after its creation.
	InvoicePaid(took time.Duration)
	// InvoicesExpired: n invoices expired.
	InvoicesExpired(n int)
	// PaymentReceived: a new payment as the rules settled it
	// (huduma.OutcomePaid, OutcomePartial, OutcomeOverpaid,
	// OutcomeSuspense) or a transaction seen before (OutcomeDuplicate).
	PaymentReceived(out huduma.Outcome)
	// Suspense: a suspense event (huduma.SuspenseOpened, ...).
	Suspense(event string)
}

// Every call comes only after the change's transaction committed (the
// plan's events), and a replay that changed nothing makes none: a
// rolled-back or repeated change is never counted.

type nopObserver struct{}

func (nopObserver) STKPush(string)                 {}
func (nopObserver) STKResult(string)               {}
func (nopObserver) StoreError(string)              {}
func (nopObserver) InvoiceCreated()                {}
func (nopObserver) InvoicePaid(time.Duration)      {}
func (nopObserver) InvoicesExpired(int)            {}
func (nopObserver) PaymentReceived(huduma.Outcome) {}
func (nopObserver) Suspense(string)                {}

// Observe names who hears of the service's events (nil: nobody).
func (s *Service) Observe(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	s.obs = o
}

// storeFailed reports err to the observer under op when it is the
// store's fault (an internal error, not a refusal of the request).
func (s *Service) storeFailed(op string, err error) {
	if err != nil && huduma.ErrorCode(err) == huduma.EInternal {
		s.obs.StoreError(op)
	}
}

// pushOutcome names a push's outcome for the observer.
func pushOutcome(err error) string {
	switch {
	case err == nil:
		return "accepted"
	case errors.Is(err, providers.ErrOutage), retryable(err) && !errors.Is(err, providers.ErrBusy):
		return "error"
	}
	return "refused"
}

// decided reports whether a settlement outcome is a prompt's result taking
// effect (not a repeat, nor one that settled nothing).
func decided(out huduma.Outcome) bool {
	switch out {
	case huduma.OutcomeDuplicate, huduma.OutcomeUnknown, huduma.OutcomeMismatch, huduma.OutcomeReceiptReused, "":
		return false
	}
	return true
}
