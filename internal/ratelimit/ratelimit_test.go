package ratelimit

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := New(60, 3) // one a second, three at once
	for i := 0; i < 3; i++ {
		if ok, _ := k.Allow("a", now); !ok {
			t.Fatalf("burst call %d refused", i+1)
		}
	}
	ok, wait := k.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth call: ok=%v wait=%s, want refused for up to 1s", ok, wait)
	}
	if ok, _ := k.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := k.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("no token after a second")
	}
	off := New(0, 5) // off: nil, allows everything
	for i := 0; i < 100; i++ {
		if ok, _ := off.Allow("a", now); !ok {
			t.Fatal("a zero rate limits")
		}
	}
}

// TestAllowOnce: an event delivered again gets the answer its first
// arrival got and takes no second token, however many times and however
// concurrently it arrives.
func TestAllowOnce(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := New(1, 2) // one a minute, two at once
	for i := 0; i < 5; i++ {
		if !k.AllowOnce("p", "text-1", now) {
			t.Fatalf("delivery %d of text-1 refused", i+1)
		}
	}
	if !k.AllowOnce("p", "text-2", now) {
		t.Fatal("text-2 refused: the repeats of text-1 took its token")
	}
	for i := 0; i < 3; i++ {
		if k.AllowOnce("p", "text-3", now) {
			t.Fatalf("delivery %d of text-3 allowed beyond the burst", i+1)
		}
	}
	// A refusal is remembered too: text-3 arriving again once a token is
	// back is still refused (it was answered "too many"), and takes
	// nothing from text-4.
	later := now.Add(time.Minute)
	if k.AllowOnce("p", "text-3", later) {
		t.Fatal("text-3 allowed on redelivery after being refused")
	}
	if !k.AllowOnce("p", "text-4", later) || k.AllowOnce("p", "text-5", later) {
		t.Fatal("the token back after a minute is not text-4's alone")
	}
	if !k.AllowOnce("q", "text-1", now) {
		t.Fatal("an event id is scoped to its key")
	}

	// Concurrent duplicates: one token.
	c := New(1, 2)
	var wg sync.WaitGroup
	var allowed atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.AllowOnce("p", "dup", now) {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("%d of 50 concurrent deliveries allowed, want all (one event)", allowed.Load())
	}
	if !c.AllowOnce("p", "next", now) || c.AllowOnce("p", "third", now) {
		t.Fatal("50 deliveries of one event took more than one token")
	}

	// Memory is bounded per key; the oldest answers are forgotten first.
	m := New(60000, 1_000_000)
	for i := 0; i < 10*maxEvents; i++ {
		m.AllowOnce("p", "e"+strconv.Itoa(i), now)
	}
	if n := len(m.m["p"].events); n > maxEvents {
		t.Fatalf("%d events remembered for one key, want at most %d", n, maxEvents)
	}
	var off *Keyed
	if !off.AllowOnce("p", "x", now) {
		t.Fatal("a nil limiter refuses")
	}
}
