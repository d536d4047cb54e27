package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// flushEvery is how often a busy process writes the sessions it saved to
// the active index.
const flushEvery = time.Second

// activeIndex gathers the sessions this process saved, each with the
// expiry of its record, and writes them to the shared index (a sorted set
// of session ids scored by expiry in ms) in one command about once a
// second: the hop itself pays nothing for the active-sessions gauge. The
// gauge lags a second behind the other processes, and loses at most that
// second of sessions when a process dies, until they hop again.
type activeIndex struct {
	mu      sync.Mutex
	pending map[string]int64
	// flushing is held for a whole flush, so that Active counts after any
	// flush in flight has landed.
	flushing sync.Mutex
	last     atomic.Int64 // unix ms of the last flush started
	running  atomic.Bool
}

// noteActive records that session id is stored until expiry (ms since the
// epoch) and, at most once a second, flushes in the background.
func (s *Store) noteActive(id string, expiry int64) {
	a := &s.active
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[string]int64{}
	}
	a.pending[id] = expiry
	a.mu.Unlock()
	now := s.now().UnixMilli()
	if now-a.last.Load() >= flushEvery.Milliseconds() && a.running.CompareAndSwap(false, true) {
		a.last.Store(now)
		go func() {
			defer a.running.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			_ = s.flushActive(ctx) // what failed stays pending for the next flush
		}()
	}
}

// forget drops a deleted session from what is pending.
func (a *activeIndex) forget(id string) {
	a.mu.Lock()
	delete(a.pending, id)
	a.mu.Unlock()
}

// flushActive writes what is pending to the index and trims the expired,
// in one round trip; on failure the entries are kept for the next try.
func (s *Store) flushActive(ctx context.Context) error {
	a := &s.active
	a.flushing.Lock()
	defer a.flushing.Unlock()
	a.mu.Lock()
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	key := s.prefix + "active"
	// GT: another process may have saved the same session later.
	add := s.c.B().Zadd().Key(key).Gt().ScoreMember()
	for id, exp := range batch {
		add = add.ScoreMember(float64(exp), id)
	}
	var err error
	for _, r := range s.c.DoMulti(ctx, add.Build(),
		s.c.B().Zremrangebyscore().Key(key).Min("-inf").Max(strconv.FormatInt(s.now().UnixMilli(), 10)).Build()) {
		if e := r.Error(); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		a.mu.Lock()
		if a.pending == nil {
			a.pending = map[string]int64{}
		}
		for id, exp := range batch {
			if exp > a.pending[id] {
				a.pending[id] = exp
			}
		}
		a.mu.Unlock()
		return fmt.Errorf("redis active index: %w", err)
	}
	return nil
}

// Active implements sessions.Store: the sessions whose record has not
// expired, from the index, after writing this process's pending entries.
func (s *Store) Active(ctx context.Context) (int64, error) {
	if err := s.flushActive(ctx); err != nil {
		return 0, err
	}
	n, err := s.c.Do(ctx, s.c.B().Zcount().Key(s.prefix+"active").Min(strconv.FormatInt(s.now().UnixMilli()+1, 10)).Max("+inf").Build()).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("redis count active sessions: %w", err)
	}
	return n, nil
}
