// Package ratelimit holds the per-key token buckets the gateway caps
// callers with: USSD hops and texts per phone, API calls per key. The
// edge and the SMS inbox share it, so one cap means the same thing on
// every channel.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key (a phone, an API key), held in this
// process. Each instance limits on its own, so with n instances
// behind a balancer a key gets up to n times the rate; that bounds abuse,
// which is the point, without a Redis round trip on every hop.
type Keyed struct {
	every rate.Limit
	burst int

	mu    sync.Mutex
	m     map[string]*bucket
	calls int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows perMinute events a minute per key, with burst. perMinute <= 0
// turns limiting off (a nil *Keyed allows everything).
func New(perMinute float64, burst int) *Keyed {
	if perMinute <= 0 {
		return nil
	}
	return &Keyed{every: rate.Limit(perMinute / 60), burst: max(1, burst), m: map[string]*bucket{}}
}

// idleAfter is when a key's bucket is forgotten (it is full again by then).
const idleAfter = 10 * time.Minute

// Allow takes one token for key, reporting whether there was one and, if
// not, how long until there is.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.calls%4096 == 0 {
		for key, b := range k.m {
			if now.Sub(b.seen) > idleAfter {
				delete(k.m, key)
			}
		}
	}
	b := k.m[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(k.every, k.burst)}
		k.m[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
