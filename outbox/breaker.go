package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/providers"
)

import ()

// verdict reads a send error.
func verdict(err error) (retry bool, after time.Duration, reason string) {
	var se *providers.SendError
	if errors.As(err, &se) {
		return se.Kind != providers.ErrPermanent, se.After, se.Reason
	}
	return true, 0, err.Error()
}

// WithBreaker puts a circuit breaker around s: retryable and throttled
// failures count towards opening it (a number the provider refuses does
// not), and while it is open a send fails at once as throttled until the
// cooldown ends (and matches breaker.ErrOpen), so the outbox waits,
// spending no try, instead of piling up calls.
func WithBreaker(s providers.SMSSender, b *breaker.Breaker) providers.SMSSender { return guarded{s, b} }

type guarded struct {
	s providers.SMSSender
	b *breaker.Breaker
}

func (g guarded) Send(ctx context.Context, to huduma.MSISDN, text string) (id string, err error) {
	err = g.b.Do(func() error { id, err = g.s.Send(ctx, to, text); return err }, func(err error) bool {
		retry, _, _ := verdict(err)
		return retry
	})
	var open *breaker.OpenError
	if errors.As(err, &open) {
		// Still an *OpenError underneath: the outbox then knows nothing
		// reached the provider and spends no try on it.
		return "", fmt.Errorf("%w: %w", providers.Throttled(open.Retry+time.Second, err.Error()), open)
	}
	return id, err
}
