package ratelimit

import (
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
