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

// pointer is a phone's latest session and until when it counts.
type pointer struct {
	id      string
	expires time.Time
}

// Store is an in-process sessions.Store.
type Store struct {
	mu      sync.Mutex
	records map[string]entry
	latest  map[string]pointer
	langs   map[string]string
	// convs are the SMS conversations, by phone.
	convs  map[string]entry
	warmed bool
	now    func() time.Time
	stop   chan struct{}
	once   sync.Once
}

var _ sessions.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, so tests can move time without sleeping.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty store that sweeps expired entries every minute
// until Close.
func New(opts ...Option) *Store {
	s := &Store{records: map[string]entry{}, latest: map[string]pointer{}, langs: map[string]string{}, convs: map[string]entry{}, now: time.Now, stop: make(chan struct{})}
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
			for k, e := range s.records {
				if !now.Before(e.expires) {
					delete(s.records, k)
				}
			}
			for k, e := range s.convs {
				if !now.Before(e.expires) {
					delete(s.convs, k)
				}
			}
			for k, p := range s.latest {
				if !now.Before(p.expires) {
					delete(s.latest, k)
				}
			}
			s.mu.Unlock()
		}
	}
}

// live returns the unexpired record for id, dropping an expired one.
func (s *Store) live(id string) (entry, bool) {
	e, ok := s.records[id]
	if ok && !s.now().Before(e.expires) {
		delete(s.records, id)
		return entry{}, false
	}
	return e, ok
}

// Load implements sessions.Store.
func (s *Store) Load(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Loaded{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.live(k.ID()); ok {
		return sessions.Loaded{Record: sessions.Record{Value: append([]byte(nil), e.value...), Version: e.version}}, nil
	}
	out := sessions.Loaded{Language: s.langs[k.Phone]}
	if p, ok := s.latest[k.Phone]; ok && s.now().Before(p.expires) {
		if e, ok := s.live(p.id); ok {
			out.Latest = append([]byte(nil), e.value...)
		}
	}
	return out, nil
}

// LoadExisting implements sessions.Store; in process it is Load.
func (s *Store) LoadExisting(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	return s.Load(ctx, k)
}

// Save implements sessions.Store: the compare-and-swap, with the pointer
// and the language under the same lock.
func (s *Store) Save(ctx context.Context, k sessions.Key, expect int64, w sessions.Write) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := k.ID()
	e, ok := s.live(id)
	if (!ok && expect != 0) || (ok && e.version != expect) {
		return 0, sessions.ErrConflict
	}
	v := expect + 1
	now := s.now()
	s.records[id] = entry{value: append([]byte(nil), w.Value...), version: v, expires: now.Add(w.TTL)}
	if w.MarkLatest {
		s.latest[k.Phone] = pointer{id: id, expires: now.Add(w.LatestTTL)}
	}
	if w.Language != "" {
		s.langs[k.Phone] = w.Language
	}
	return v, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, k sessions.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, k.ID())
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

// WarmLanguages implements sessions.Store: once per process, since the
// map starts empty with it. Languages saved meanwhile win over the copy.
func (s *Store) WarmLanguages(ctx context.Context, load func(ctx context.Context) (map[string]string, error)) (bool, error) {
	s.mu.Lock()
	warmed := s.warmed
	s.mu.Unlock()
	if warmed {
		return false, nil
	}
	prefs, err := load(ctx)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warmed {
		return false, nil
	}
	for phone, lang := range prefs {
		if _, set := s.langs[phone]; !set {
			s.langs[phone] = lang
		}
	}
	s.warmed = true
	return true, nil
}

// Ping implements sessions.Store; an in-process store is always there.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close stops the sweeper.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}
