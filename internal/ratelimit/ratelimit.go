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
	// events are AllowOnce's answers by event, oldest first in order.
	events map[string]bool
	order  []string
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
	return k.bucket(key, now).take(now)
}

// maxEvents is how many of a key's events AllowOnce remembers. A caller's
// duplicates arrive within minutes of the original, among a handful of
// its other events.
const maxEvents = 64

// AllowOnce is Allow for an event that may arrive more than once (a text
// the aggregator delivers again, or twice at once): the first arrival of
// event under key takes a token, and every later one gets the same answer
// without taking another, so duplicates neither use up the key's
// allowance nor get refused for their own repeats. Answers are kept with
// the key's bucket, for its last maxEvents events.
func (k *Keyed) AllowOnce(key, event string, now time.Time) bool {
	if k == nil {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bucket(key, now)
	if ok, seen := b.events[event]; seen {
		return ok
	}
	ok, _ := b.take(now)
	if b.events == nil {
		b.events = map[string]bool{}
	}
	if len(b.order) == maxEvents {
		delete(b.events, b.order[0])
		b.order = append(b.order[:0], b.order[1:]...)
	}
	b.events[event] = ok
	b.order = append(b.order, event)
	return ok
}

// bucket returns key's bucket, made full when new; now and then it
// forgets the buckets idle long enough to be full again. k.mu is held.
func (k *Keyed) bucket(key string, now time.Time) *bucket {
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
	return b
}

// take takes one token from b if it has one. The Keyed's mu is held.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
