// Package redisstore keeps USSD sessions in Redis, shared by any number of
// gateway processes. A hop costs one read (an MGET of the keys where its
// session, the phone's latest session and the phone's language live) and
// one Lua script that does the compare-and-swap on the server with one
// inner read and one inner write, so two racing hops of one session never
// both apply.
//
// A session's record lives in its own key ("<version>:<data>") until it
// is marked the phone's latest; from then on it lives in the phone's slot,
// a key named by the phone alone, which every hop's MGET reads anyway: the
// first hop of the phone's next session finds the journey to offer there
// without a second read, and moving the pointer costs no second write.
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

//go:embed slot.lua
var slotLua string

//go:embed save.lua
var saveLua string

//go:embed delete.lua
var deleteLua string

var (
	saveScript   = redis.NewScript(slotLua + saveLua)
	deleteScript = redis.NewScript(slotLua + deleteLua)
)

// Store is a sessions.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	owned  bool
	now    func() time.Time
	active activeIndex
}

var _ sessions.Store = (*Store)(nil)

// New wraps an existing client. Keys are "<prefix>s:<key id>" for a
// session's own record, "<prefix>h:<phone>" for the phone's slot (its
// latest session), "<prefix>g:<phone>" for the phone's language (no
// expiry), "<prefix>active" for the index of sessions by expiry
// (active.go) and "<prefix>sms:<phone>" for a phone's SMS conversation
// (conversations.go).
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, now: time.Now}
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
	s := &Store{rdb: rdb, prefix: prefix, owned: true, now: time.Now}
	if err := s.Ping(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) key(k sessions.Key) string { return s.prefix + "s:" + k.ID() }

func (s *Store) slotKey(phone string) string { return s.prefix + "h:" + phone }

func (s *Store) langKey(phone string) string { return s.prefix + "g:" + phone }

// slot is the phone's slot as stored:
// "<version>:<expiry ms>:<latest until ms>:<id length>:<id><data>", the
// expiry being the record's own (for the script that hands the slot to
// another session) and "latest until" how long it is offered to the
// phone's next session.
type slot struct {
	version     int64
	latestUntil int64
	id          string
	data        string
}

func parseSlot(raw string) (slot, error) {
	var f [4]int64
	rest := raw
	for i := range f {
		num, tail, ok := strings.Cut(rest, ":")
		n, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return slot{}, fmt.Errorf("redis phone slot of %d bytes: field %d is not a number", len(raw), i)
		}
		f[i], rest = n, tail
	}
	if f[3] < 0 || f[3] > int64(len(rest)) {
		return slot{}, fmt.Errorf("redis phone slot of %d bytes: id length %d", len(raw), f[3])
	}
	return slot{version: f[0], latestUntil: f[2], id: rest[:f[3]], data: rest[f[3]:]}, nil
}

// Load implements sessions.Store in one MGET.
func (s *Store) Load(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	res, err := s.rdb.MGet(ctx, s.key(k), s.slotKey(k.Phone), s.langKey(k.Phone)).Result()
	if err != nil {
		return sessions.Loaded{}, fmt.Errorf("redis load session: %w", err)
	}
	own, _ := res[0].(string)
	raw, inSlot := res[1].(string)
	var sl slot
	if inSlot {
		if sl, err = parseSlot(raw); err != nil {
			return sessions.Loaded{}, err
		}
		if sl.id == k.ID() {
			return sessions.Loaded{Record: sessions.Record{Value: []byte(sl.data), Version: sl.version}}, nil
		}
	}
	if own != "" {
		vs, d, ok := strings.Cut(own, ":")
		v, perr := strconv.ParseInt(vs, 10, 64)
		if !ok || perr != nil {
			return sessions.Loaded{}, fmt.Errorf("redis session record of %d bytes has no version", len(own))
		}
		return sessions.Loaded{Record: sessions.Record{Value: []byte(d), Version: v}}, nil
	}
	var out sessions.Loaded
	out.Language, _ = res[2].(string)
	if inSlot && sl.latestUntil > s.now().UnixMilli() {
		out.Latest = []byte(sl.data)
	}
	return out, nil
}

// LoadExisting implements sessions.Store: the same single MGET as Load,
// which costs no more when the session exists.
func (s *Store) LoadExisting(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	return s.Load(ctx, k)
}

// Save implements sessions.Store in one script (save.lua). The latest
// mark's expiry and the slot's are taken from this process's clock, which
// is what Load compares them with; gateways' clocks agree to far better
// than a session's lifetime.
func (s *Store) Save(ctx context.Context, k sessions.Key, expect int64, w sessions.Write) (int64, error) {
	now := s.now().UnixMilli()
	var latest int64
	if w.MarkLatest {
		latest = now + max(w.LatestTTL.Milliseconds(), 1)
	}
	n, err := saveScript.Run(ctx, s.rdb, []string{s.key(k), s.slotKey(k.Phone), s.langKey(k.Phone)},
		k.ID(), expect, w.Value, max(w.TTL.Milliseconds(), 1), latest, w.Language, now, s.prefix+"s:").Int64()
	if err != nil {
		return 0, fmt.Errorf("redis save session: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	s.noteActive(k.ID(), now+max(w.TTL.Milliseconds(), 1))
	return n, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, k sessions.Key) error {
	s.active.forget(k.ID())
	if err := deleteScript.Run(ctx, s.rdb, []string{s.key(k), s.slotKey(k.Phone), s.prefix + "active"}, k.ID()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis delete session: %w", err)
	}
	return nil
}

// warmBatch is how many languages one pipeline writes while warming.
const warmBatch = 1000

// WarmLanguages implements sessions.Store. A marker key says the
// languages are filled; the first process to set it loads, the others do not. The
// marker lives as long as the data it vouches for: both go with a flushed
// or replaced Redis. Languages saved meanwhile win over the copy (SETNX). The
// marker's name changed when languages moved from one hash to a key per
// phone, so the first start after that fills the new keys.
func (s *Store) WarmLanguages(ctx context.Context, load func(ctx context.Context) (map[string]string, error)) (bool, error) {
	first, err := s.rdb.SetNX(ctx, s.prefix+"g:warm", "1", 0).Result()
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
				p.SetNX(ctx, s.langKey(phone), lang, 0)
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
		s.rdb.Del(context.WithoutCancel(ctx), s.prefix+"g:warm")
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
