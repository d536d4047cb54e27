package payments

import (
	"context"
	"errors"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/providers"
)

// retryable reports whether a failed call may work later: an outage, a
// busy subscriber, or a breaker holding calls back.
func retryable(err error) bool {
	return errors.Is(err, providers.ErrOutage) || errors.Is(err, providers.ErrBusy) || errors.Is(err, breaker.ErrOpen)
}

// WithBreaker puts a circuit breaker around mp: outages in a row open it,
// and while it is open calls fail at once (retryable), so an outage costs
// one fast error per job instead of a long wait each.
func WithBreaker(mp providers.Mpesa, b *breaker.Breaker) providers.Mpesa { return guarded{mp, b} }

type guarded struct {
	mp providers.Mpesa
	b  *breaker.Breaker
}

func outage(err error) bool { return errors.Is(err, providers.ErrOutage) }

func (g guarded) StkPush(ctx context.Context, p huduma.STKPush) (res huduma.STKPushResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkPush(ctx, p); return err }, outage)
	return res, err
}

func (g guarded) StkQuery(ctx context.Context, id string) (res huduma.STKResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkQuery(ctx, id); return err }, outage)
	return res, err
}
