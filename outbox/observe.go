package outbox

import "github.com/huduma-ke/huduma"

// Observer hears of the outbox's events for metrics (package metrics
// implements it). Each is reported once the store recorded it.
type Observer interface {
	// SMS: a message of kind was sent (the provider accepted it), failed
	// for good, or is to be retried.
	SMS(kind huduma.MessageKind, event string)
	// StoreError: a store call failed; op is "outbox".
	StoreError(op string)
}

// The outbox's events (Observer.SMS).
const (
	SMSSent    = "sent"
	SMSFailed  = "failed"
	SMSRetried = "retried"
)

type nopObserver struct{}

func (nopObserver) SMS(huduma.MessageKind, string) {}
func (nopObserver) StoreError(string)              {}

// Observe names who hears of the outbox's events (nil: nobody).
func (o *Worker) Observe(obs Observer) {
	if obs == nil {
		obs = nopObserver{}
	}
	o.obs = obs
}
