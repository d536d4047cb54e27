// Package redisstore keeps USSD sessions in Redis, shared by any number of
// gateway processes. Each session is a small hash (version + data) with
// the idle TTL; a Lua script does the compare-and-swap on the server, so
// two racing hops of one session never both apply.
package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma/sessions"
)

//go:embed put.lua
var putLua string

var putScript = redis.NewScript(putLua)

// Store is a sessions.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	owned  bool
}

var _ sessions.Store = (*Store)(nil)

// New wraps an existing client. Keys are "<prefix>s:<id>" for sessions,
// "<prefix>v:<key>" for values and "<prefix>active" for the expiry index.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Open connects to url (redis:// or rediss://) with timeouts sized for a
// 2 s hop budget: when Redis is down, calls fail fast rather than hang.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	opt.DialTimeout = time.Second
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = time.Second
	opt.MaxRetries = 1
	rdb := redis.NewClient(opt)
	s := &Store{rdb: rdb, prefix: prefix, owned: true}
	if err := s.Ping(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) key(id string) string { return s.prefix + "s:" + id }

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, id string) (sessions.Record, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(id), "v", "d").Result()
	if err != nil {
		return sessions.Record{}, fmt.Errorf("redis get session: %w", err)
	}
	vs, ok1 := vals[0].(string)
	d, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return sessions.Record{}, sessions.ErrNotFound
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return sessions.Record{}, fmt.Errorf("redis session version %q: %w", vs, err)
	}
	return sessions.Record{Value: []byte(d), Version: v}, nil
}

// Put implements sessions.Store.
func (s *Store) Put(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration) (int64, error) {
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	n, err := putScript.Run(ctx, s.rdb, []string{s.key(id), s.prefix + "active"}, expect, value, ms).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis put session: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	return n, nil
}

// PutNote implements sessions.Store: the note rides in the same script.
func (s *Store) PutNote(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration, note sessions.Note) (int64, error) {
	ms, nms := max(ttl.Milliseconds(), 1), max(note.TTL.Milliseconds(), 1)
	n, err := putScript.Run(ctx, s.rdb, []string{s.key(id), s.prefix + "active", s.prefix + "v:" + note.Key}, expect, value, ms, note.Value, nms).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis put session: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	return n, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	k := s.key(id)
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k)
		p.ZRem(ctx, s.prefix+"active", k)
		return nil
	}); err != nil {
		return fmt.Errorf("redis delete session: %w", err)
	}
	return nil
}

// Active implements sessions.Store: records whose expiry is still ahead,
// by the Redis server's clock.
func (s *Store) Active(ctx context.Context) (int64, error) {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("redis time: %w", err)
	}
	n, err := s.rdb.ZCount(ctx, s.prefix+"active", strconv.FormatInt(now.UnixMilli()+1, 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis count active sessions: %w", err)
	}
	return n, nil
}

// SetValue implements sessions.Store.
func (s *Store) SetValue(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.prefix+"v:"+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set value: %w", err)
	}
	return nil
}

// GetValue implements sessions.Store.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	v, err := s.rdb.Get(ctx, s.prefix+"v:"+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, sessions.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis get value: %w", err)
	}
	return v, nil
}

// Ping implements sessions.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close releases the client when Open made it.
func (s *Store) Close() error {
	if s.owned {
		return s.rdb.Close()
	}
	return nil
}
