package memstore

import (
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/sessionstest"
)

func TestConformance(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) (sessions.Store, func(time.Duration)) {
		var mu sync.Mutex
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := New(WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
		t.Cleanup(func() { s.Close() })
		return s, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	})
}

func BenchmarkMemGetPut(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := b.Context()
	val := make([]byte, 400)
	var ver int64
	for b.Loop() {
		if ver > 0 {
			if _, err := s.Get(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		v, err := s.Put(ctx, "bench", ver, val, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		ver = v
	}
}
