// Package redisstore keeps USSD sessions in Redis, shared by any number of
// gateway processes. Each session is one string ("<version>:<data>") with
// the idle TTL; a Lua script does the compare-and-swap on the server, so
// two racing hops of one session never both apply.
package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma/sessions"
)

//go:embed load.lua
var loadLua string

//go:embed save.lua
var saveLua string

var (
	loadScript = redis.NewScript(loadLua)
	saveScript = redis.NewScript(saveLua)
)

// Store is a sessions.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	owned  bool
}

var _ sessions.Store = (*Store)(nil)

// New wraps an existing client. Keys are "<prefix>s:<key id>" for
// sessions, "<prefix>last:<phone>" for a phone's latest session,
// "<prefix>lang" (a hash, one field per phone) for languages,
// "<prefix>active" for the expiry index and "<prefix>sms:<phone>" for a
// phone's SMS conversation (conversations.go).
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// The hop budget is 2 s: when Redis is down, calls fail fast rather than
// hang. One dial attempt per try (go-redis would otherwise dial five
// times, 100 ms apart) and one retry keep a hop that cannot reach Redis
// at a busy END well inside a second on a refused connection.
const (
	dialTimeout  = time.Second
	ioTimeout    = 500 * time.Millisecond
	poolTimeout  = time.Second
	maxRetries   = 1
	dialAttempts = 1
)

// Open connects to url with timeouts sized for the hop budget. url is
// redis:// or rediss:// for one server, or redis+sentinel:// (TLS:
// rediss+sentinel://) for a primary found and followed through Sentinel
// (ParseSentinelURL). With Sentinel, the client asks the Sentinels for
// the current primary, drops its connections when they announce a new
// one, and so follows a failover without a restart.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	var rdb *redis.Client
	if IsSentinelURL(url) {
		opt, err := ParseSentinelURL(url)
		if err != nil {
			return nil, fmt.Errorf("parse redis sentinel url: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = dialTimeout, ioTimeout, ioTimeout, poolTimeout
		opt.MaxRetries, opt.DialerRetries = maxRetries, dialAttempts
		rdb = redis.NewFailoverClient(opt)
	} else {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("parse redis url: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = dialTimeout, ioTimeout, ioTimeout, poolTimeout
		opt.MaxRetries, opt.DialerRetries = maxRetries, dialAttempts
		rdb = redis.NewClient(opt)
	}
	s := &Store{rdb: rdb, prefix: prefix, owned: true}
	if err := s.Ping(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) key(k sessions.Key) string { return s.prefix + "s:" + k.ID() }

// Load implements sessions.Store in one script (load.lua).
func (s *Store) Load(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	res, err := loadScript.Run(ctx, s.rdb, []string{s.key(k), s.prefix + "last:" + k.Phone, s.prefix + "lang"}, k.Phone, s.prefix+"s:").Slice()
	if err != nil {
		return sessions.Loaded{}, fmt.Errorf("redis load session: %w", err)
	}
	str := func(i int) (string, bool) {
		if i >= len(res) {
			return "", false
		}
		v, ok := res[i].(string)
		return v, ok
	}
	if vs, ok := str(0); ok {
		v, err := strconv.ParseInt(vs, 10, 64)
		if err != nil {
			return sessions.Loaded{}, fmt.Errorf("redis session version %q: %w", vs, err)
		}
		d, _ := str(1)
		return sessions.Loaded{Record: sessions.Record{Value: []byte(d), Version: v}}, nil
	}
	var out sessions.Loaded
	out.Language, _ = str(2)
	if d, ok := str(3); ok {
		out.Latest = []byte(d)
	}
	return out, nil
}

// LoadExisting implements sessions.Store: one GET of the record, and the
// whole of Load only when there is none (or it is an older release's
// hash). A GET is a tenth of the load script's time on the Redis server.
func (s *Store) LoadExisting(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	raw, err := s.rdb.Get(ctx, s.key(k)).Result()
	if errors.Is(err, redis.Nil) || (err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE")) {
		return s.Load(ctx, k)
	}
	if err != nil {
		return sessions.Loaded{}, fmt.Errorf("redis load session: %w", err)
	}
	vs, d, ok := strings.Cut(raw, ":")
	v, perr := strconv.ParseInt(vs, 10, 64)
	if !ok || perr != nil {
		return sessions.Loaded{}, fmt.Errorf("redis session record of %d bytes has no version", len(raw))
	}
	return sessions.Loaded{Record: sessions.Record{Value: []byte(d), Version: v}}, nil
}

// Save implements sessions.Store in one script (save.lua).
func (s *Store) Save(ctx context.Context, k sessions.Key, expect int64, w sessions.Write) (int64, error) {
	var ptr string
	if w.MarkLatest {
		ptr = k.ID()
	}
	n, err := saveScript.Run(ctx, s.rdb, []string{s.key(k), s.prefix + "active", s.prefix + "last:" + k.Phone, s.prefix + "lang"},
		expect, w.Value, max(w.TTL.Milliseconds(), 1), ptr, max(w.LatestTTL.Milliseconds(), 1), w.Language, k.Phone).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis save session: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	return n, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, key sessions.Key) error {
	k := s.key(key)
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

// warmBatch is how many languages one HSET writes while warming.
const warmBatch = 1000

// WarmLanguages implements sessions.Store. A marker key says the hash is
// filled; the first process to set it loads, the others do not. The
// marker lives as long as the data it vouches for: both go with a flushed
// or replaced Redis. Languages saved meanwhile win over the copy (HSETNX).
func (s *Store) WarmLanguages(ctx context.Context, load func(ctx context.Context) (map[string]string, error)) (bool, error) {
	first, err := s.rdb.SetNX(ctx, s.prefix+"lang:warm", "1", 0).Result()
	if err != nil {
		return false, fmt.Errorf("redis language marker: %w", err)
	}
	if !first {
		return false, nil
	}
	prefs, err := load(ctx)
	if err == nil {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			n := 0
			for phone, lang := range prefs {
				p.HSetNX(ctx, s.prefix+"lang", phone, lang)
				if n++; n%warmBatch == 0 {
					if _, err := p.Exec(ctx); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err != nil {
		// Let the next start try again.
		s.rdb.Del(context.WithoutCancel(ctx), s.prefix+"lang:warm")
		return false, fmt.Errorf("warm languages: %w", err)
	}
	return true, nil
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
