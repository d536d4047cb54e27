// Package memstore is the in-process session store used when no REDIS_URL
// is set (one gateway process). It has exactly the semantics of the Redis
// store, proven by the shared sessionstest suite.
package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/huduma-ke/huduma/sessions"
)

type entry struct {
	value   []byte
	version int64
	expires time.Time
}

// Store is an in-process sessions.Store.
type Store struct {
	mu      sync.Mutex
	records map[string]entry
	values  map[string]entry
	now     func() time.Time
	stop    chan struct{}
	once    sync.Once
}

var _ sessions.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, so tests can move time without sleeping.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty store that sweeps expired entries every minute
// until Close.
func New(opts ...Option) *Store {
	s := &Store{records: map[string]entry{}, values: map[string]entry{}, now: time.Now, stop: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	go s.sweep(time.Minute)
	return s
}

func (s *Store) sweep(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			now := s.now()
			for _, m := range []map[string]entry{s.records, s.values} {
				for k, e := range m {
					if !now.Before(e.expires) {
						delete(m, k)
					}
				}
			}
			s.mu.Unlock()
		}
	}
}

// live returns the unexpired entry for key, dropping an expired one.
func (s *Store) live(m map[string]entry, key string) (entry, bool) {
	e, ok := m[key]
	if ok && !s.now().Before(e.expires) {
		delete(m, key)
		return entry{}, false
	}
	return e, ok
}

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, id string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(s.records, id)
	if !ok {
		return sessions.Record{}, sessions.ErrNotFound
	}
	return sessions.Record{Value: append([]byte(nil), e.value...), Version: e.version}, nil
}

// Put implements sessions.Store.
func (s *Store) Put(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration) (int64, error) {
	return s.put(ctx, id, expect, value, ttl, nil)
}

// PutNote implements sessions.Store.
func (s *Store) PutNote(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration, note sessions.Note) (int64, error) {
	return s.put(ctx, id, expect, value, ttl, &note)
}

// put is the compare-and-swap, with the optional note under the same lock.
func (s *Store) put(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration, note *sessions.Note) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(s.records, id)
	if (!ok && expect != 0) || (ok && e.version != expect) {
		return 0, sessions.ErrConflict
	}
	v := expect + 1
	now := s.now()
	s.records[id] = entry{value: append([]byte(nil), value...), version: v, expires: now.Add(ttl)}
	if note != nil {
		s.values[note.Key] = entry{value: append([]byte(nil), note.Value...), expires: now.Add(note.TTL)}
	}
	return v, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, id)
	return nil
}

// Active implements sessions.Store.
func (s *Store) Active(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	now := s.now()
	for _, e := range s.records {
		if now.Before(e.expires) {
			n++
		}
	}
	return n, nil
}

// SetValue implements sessions.Store.
func (s *Store) SetValue(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = entry{value: append([]byte(nil), value...), expires: s.now().Add(ttl)}
	return nil
}

// GetValue implements sessions.Store.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(s.values, key)
	if !ok {
		return nil, sessions.ErrNotFound
	}
	return append([]byte(nil), e.value...), nil
}

// Ping implements sessions.Store; an in-process store is always there.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close stops the sweeper.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}
