package payments

import (
	"errors"

	"github.com/huduma-ke/huduma"
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
}

type nopObserver struct{}

func (nopObserver) STKPush(string)    {}
func (nopObserver) STKResult(string)  {}
func (nopObserver) StoreError(string) {}

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
	case errors.Is(err, ErrOutage), retryable(err) && !errors.Is(err, ErrBusy):
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
