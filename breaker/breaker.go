// Package breaker is a circuit breaker for calls to outside providers
// (Daraja, Africa's Talking). After Failures consecutive failures it opens
// for Cooldown: calls fail at once with ErrOpen instead of each waiting
// out a timeout, so an outage cannot pile up goroutines and connections.
// After the cooldown one trial call goes through; its outcome closes the
// breaker or opens it for another cooldown.
package breaker

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrOpen is returned while the breaker is open.
var ErrOpen = errors.New("circuit open: the provider failed repeatedly; not calling it for now")

// OpenError carries how long until the next trial call.
type OpenError struct {
	Name  string
	Retry time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("%s: %v (next try in %s)", e.Name, ErrOpen, e.Retry.Round(time.Millisecond))
}

// Unwrap makes errors.Is(err, ErrOpen) true.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Breaker guards one provider. The zero value is not usable; use New.
type Breaker struct {
	name     string
	failures int
	cooldown time.Duration
	now      func() time.Time

	mu       sync.Mutex
	fails    int
	openTill time.Time
	trial    bool
}

// New returns a breaker that opens after failures consecutive failures
// for cooldown.
func New(name string, failures int, cooldown time.Duration) *Breaker {
	return &Breaker{name: name, failures: max(1, failures), cooldown: cooldown, now: time.Now}
}

// WithClock makes the breaker read the time from now instead of
// time.Now, so a simulation can run an outage's minutes in milliseconds.
// It returns b.
func (b *Breaker) WithClock(now func() time.Time) *Breaker {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = now
	return b
}

// Do runs call unless the breaker is open. failed decides which errors
// count against the provider (a rejected phone number is not an outage);
// nil means every error does.
func (b *Breaker) Do(call func() error, failed func(error) bool) error {
	b.mu.Lock()
	now := b.now()
	if now.Before(b.openTill) || (b.trial && !b.openTill.IsZero()) {
		wait := b.openTill.Sub(now)
		b.mu.Unlock()
		return &OpenError{Name: b.name, Retry: max(wait, 0)}
	}
	if !b.openTill.IsZero() {
		b.trial = true // the cooldown is over: this call is the one trial
	}
	b.mu.Unlock()

	err := call()
	bad := err != nil && (failed == nil || failed(err))

	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !bad:
		b.fails, b.openTill, b.trial = 0, time.Time{}, false
	case b.trial:
		b.openTill, b.trial = b.now().Add(b.cooldown), false
	default:
		b.fails++
		if b.fails >= b.failures {
			b.openTill, b.fails = b.now().Add(b.cooldown), 0
		}
	}
	return err
}

// The breaker's states, as State names them.
const (
	// Closed: calls go through.
	Closed = "closed"
	// HalfOpen: the cooldown is over and the next call, or the one now
	// under way, is the single trial that decides.
	HalfOpen = "half-open"
	// Open: calls fail at once with ErrOpen.
	Open = "open"
)

// State names the breaker's state (Closed, HalfOpen, Open) for metrics
// and logs. After the cooldown it is HalfOpen until the trial's outcome
// closes or reopens it, whether or not the trial has started.
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.trial:
		return HalfOpen
	case b.openTill.IsZero():
		return Closed
	case b.now().Before(b.openTill):
		return Open
	}
	return HalfOpen
}

// Name is the provider the breaker guards.
func (b *Breaker) Name() string { return b.name }
