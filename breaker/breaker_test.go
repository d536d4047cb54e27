package breaker

import (
	"errors"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	b := New("daraja", 3, 30*time.Second)
	b.now = func() time.Time { return now }
	down := errors.New("connection refused")
	calls := 0
	fail := func() error { calls++; return down }
	ok := func() error { calls++; return nil }

	for i := 0; i < 3; i++ {
		if err := b.Do(fail, nil); !errors.Is(err, down) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if b.State() != "open" {
		t.Fatalf("state %s after 3 failures", b.State())
	}
	err := b.Do(ok, nil)
	var oe *OpenError
	if !errors.Is(err, ErrOpen) || !errors.As(err, &oe) || oe.Retry != 30*time.Second || calls != 3 {
		t.Fatalf("open breaker: %v, %d calls", err, calls)
	}
	// After the cooldown one trial goes; a failure opens it again.
	now = now.Add(31 * time.Second)
	if err := b.Do(fail, nil); !errors.Is(err, down) || calls != 4 {
		t.Fatalf("trial: %v", err)
	}
	if err := b.Do(ok, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("after a failed trial: %v", err)
	}
	// A good trial closes it.
	now = now.Add(31 * time.Second)
	if err := b.Do(ok, nil); err != nil || b.State() != "closed" {
		t.Fatalf("good trial: %v %s", err, b.State())
	}
	// Errors that are not outages do not count.
	notOutage := errors.New("invalid phone")
	for i := 0; i < 5; i++ {
		b.Do(func() error { return notOutage }, func(err error) bool { return err != notOutage })
	}
	if b.State() != "closed" {
		t.Fatal("client errors opened the breaker")
	}
	// Successes reset the count.
	b.Do(fail, nil)
	b.Do(fail, nil)
	b.Do(ok, nil)
	b.Do(fail, nil)
	if b.State() != "closed" {
		t.Fatal("non-consecutive failures opened the breaker")
	}
}

// TestState walks the breaker through closed, open, half-open (before and
// during the trial) and back, as the metrics gauge reads it.
func TestState(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	b := New("daraja", 2, 30*time.Second)
	b.now = func() time.Time { return now }
	down := errors.New("connection refused")
	if s := b.State(); s != Closed {
		t.Fatalf("new breaker %s", s)
	}
	b.Do(func() error { return down }, nil)
	if s := b.State(); s != Closed {
		t.Fatalf("one failure of two: %s", s)
	}
	b.Do(func() error { return down }, nil)
	if s := b.State(); s != Open {
		t.Fatalf("after two failures: %s", s)
	}
	now = now.Add(31 * time.Second)
	if s := b.State(); s != HalfOpen {
		t.Fatalf("cooldown over, trial not yet made: %s", s)
	}
	var during string
	if err := b.Do(func() error { during = b.State(); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if during != HalfOpen {
		t.Fatalf("during the trial: %s", during)
	}
	if s := b.State(); s != Closed {
		t.Fatalf("after a good trial: %s", s)
	}
	b.Do(func() error { return down }, nil)
	b.Do(func() error { return down }, nil)
	now = now.Add(31 * time.Second)
	b.Do(func() error { return down }, nil)
	if s := b.State(); s != Open {
		t.Fatalf("after a failed trial: %s", s)
	}
	if b.Name() != "daraja" {
		t.Fatalf("name %q", b.Name())
	}
}
