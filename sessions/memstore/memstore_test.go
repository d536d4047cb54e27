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

// BenchmarkMemLoadSave is one hop's session traffic: a load and a save.
func BenchmarkMemLoadSave(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := b.Context()
	k := sessions.Key{Provider: "at", Session: "bench", Phone: "+254712345678"}
	val := make([]byte, 400)
	for b.Loop() {
		got, err := s.Load(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Save(ctx, k, got.Record.Version, sessions.Write{Value: val, TTL: time.Minute}); err != nil {
			b.Fatal(err)
		}
	}
}
