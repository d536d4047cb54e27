// Package redisstore keeps USSD sessions in Redis, shared by any number of
// gateway processes. A session's first hop costs one read (an MGET of the
// keys where its session, the phone's latest session and the phone's
// language live) and one Lua script that does the compare-and-swap on the
// server with one inner read and one inner write, so two racing hops of
// one session never both apply. A later hop served by the process that
// saved the session last costs the script alone (recent.go).
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
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/huduma-ke/huduma/sessions"
)

//go:embed slot.lua
var slotLua string

//go:embed save.lua
var saveLua string

//go:embed delete.lua
var deleteLua string

var (
	saveScript   = rueidis.NewLuaScript(slotLua + saveLua)
	deleteScript = rueidis.NewLuaScript(slotLua + deleteLua)
)

// Store is a sessions.Store on Redis.
type Store struct {
	c      rueidis.Client
	prefix string
	owned  bool
	now    func() time.Time
	active activeIndex
	// recent holds the records this process saved last (recent.go).
	recent *recent
}

var _ sessions.Store = (*Store)(nil)

// New wraps an existing client (made with DisableCache). Keys are "<prefix>s:<key id>" for a
// session's own record, "<prefix>h:<phone>" for the phone's slot (its
// latest session), "<prefix>g:<phone>" for the phone's language (no
// expiry), "<prefix>active" for the index of sessions by expiry
// (active.go) and "<prefix>sms:<phone>" for a phone's SMS conversation
// (conversations.go).
func New(c rueidis.Client, prefix string) *Store {
	return &Store{c: c, prefix: prefix, now: time.Now, recent: newRecent()}
}

// The hop budget is 2 s: when Redis is down, calls fail fast rather than
// hang. A dial gives up after a second; a connection that neither takes
// a write nor answers within ioTimeout is closed (rueidis's
// ConnWriteTimeout, which also pings an idle connection to find a dead
// one), failing the calls waiting on it.
const (
	dialTimeout = time.Second
	ioTimeout   = 500 * time.Millisecond
)

// retryOnce lets a read (the hop's MGET) that met a broken connection
// try once more at once, on a fresh one, and no more: the client's own
// default backs off and retries until the caller's deadline, which would
// turn a Redis outage into late hops instead of a prompt busy END. Writes
// (the scripts) are never retried by the client.
func retryOnce(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts <= 1 {
		return 0
	}
	return -1
}

// Open connects to url with timeouts sized for the hop budget. url is
// redis:// or rediss:// for one server (ParseURL), or redis+sentinel://
// (TLS: rediss+sentinel://) for a primary found and followed through
// Sentinel (ParseSentinelURL). With Sentinel, the client asks the
// Sentinels for the current primary and moves to a new one when they
// announce it, so it follows a failover without a restart.
//
// The client is rueidis with automatic pipelining: the commands of hops
// running at once share a connection and go out in one write, and their
// answers come back in one read, so the system calls a hop pays for its
// two round trips shrink as the load grows (docs/performance.md). Client-
// side caching is off: every read goes to the server, as a compare-and-
// swap store needs.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	var opt rueidis.ClientOption
	var err error
	if IsSentinelURL(url) {
		if opt, err = ParseSentinelURL(url); err != nil {
			return nil, fmt.Errorf("parse redis sentinel url: %w", err)
		}
		opt.Sentinel.Dialer.Timeout = dialTimeout
	} else if opt, err = ParseURL(url); err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	if opt.Dialer.Timeout == 0 {
		opt.Dialer.Timeout = dialTimeout
	}
	if opt.ConnWriteTimeout == 0 {
		opt.ConnWriteTimeout = ioTimeout
	}
	opt.DisableCache = true
	opt.RetryDelay = retryOnce
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redis connect: %w", err)
	}
	s := &Store{c: c, prefix: prefix, owned: true, now: time.Now, recent: newRecent()}
	if err := s.Ping(ctx); err != nil {
		c.Close()
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
	res, err := s.c.Do(ctx, s.c.B().Mget().Key(s.key(k), s.slotKey(k.Phone), s.langKey(k.Phone)).Build()).ToArray()
	if err != nil {
		return sessions.Loaded{}, fmt.Errorf("redis load session: %w", err)
	}
	if len(res) != 3 {
		return sessions.Loaded{}, fmt.Errorf("redis load session: MGET of 3 keys answered %d values", len(res))
	}
	own, _ := res[0].ToString()
	raw, rerr := res[1].ToString()
	inSlot := rerr == nil
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
	out.Language, _ = res[2].ToString()
	if inSlot && sl.latestUntil > s.now().UnixMilli() {
		out.Latest = []byte(sl.data)
	}
	return out, nil
}

// LoadExisting implements sessions.Store: the record this process saved
// last for the session, when it has it (no round trip; Save checks it is
// still the stored one), else the same single MGET as Load.
func (s *Store) LoadExisting(ctx context.Context, k sessions.Key) (sessions.Loaded, error) {
	if c, ok := s.recent.get(k.ID(), s.now().UnixMilli()); ok {
		return sessions.Loaded{Record: sessions.Record{Value: []byte(c.data), Version: c.version}}, nil
	}
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
	id := k.ID()
	ttl := max(w.TTL.Milliseconds(), 1)
	expiry := now + ttl
	// When this process holds the record the hop was computed from, the
	// script checks the stored one is that very record, not only its
	// version.
	var want string
	if c, ok := s.recent.get(id, now); ok && c.version == expect && expect > 0 {
		want = digest(c.data)
	}
	data := string(w.Value)
	msg, err := saveScript.Exec(ctx, s.c, []string{s.key(k), s.slotKey(k.Phone), s.langKey(k.Phone)},
		[]string{id, itoa(expect), data, itoa(ttl), itoa(latest), w.Language, itoa(now), s.prefix + "s:", want}).ToMessage()
	if err != nil {
		s.recent.drop(id)
		return 0, fmt.Errorf("redis save session: %w", err)
	}
	if stored, err := msg.ToArray(); err == nil {
		// The copy was stale: keep what is stored instead, so the retry
		// needs no read.
		s.recent.drop(id)
		if len(stored) == 2 {
			v, verr := stored[0].AsInt64()
			d, derr := stored[1].ToString()
			if verr == nil && derr == nil && v > 0 {
				s.recent.put(id, recentCopy{version: v, data: d, expiry: expiry}, now)
			}
		}
		return 0, sessions.ErrConflict
	}
	n, err := msg.AsInt64()
	if err != nil {
		s.recent.drop(id)
		return 0, fmt.Errorf("redis save session: %w", err)
	}
	if n < 0 {
		s.recent.drop(id)
		return 0, sessions.ErrConflict
	}
	s.recent.put(id, recentCopy{version: n, data: data, expiry: expiry}, now)
	s.noteActive(id, expiry)
	return n, nil
}

// Delete implements sessions.Store.
func (s *Store) Delete(ctx context.Context, k sessions.Key) error {
	s.active.forget(k.ID())
	s.recent.drop(k.ID())
	if err := deleteScript.Exec(ctx, s.c, []string{s.key(k), s.slotKey(k.Phone), s.prefix + "active"}, []string{k.ID()}).Error(); err != nil && !rueidis.IsRedisNil(err) {
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
	first, err := s.c.Do(ctx, s.c.B().Set().Key(s.prefix+"g:warm").Value("1").Nx().Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return false, nil // another process set it
	}
	if err != nil || first != "OK" {
		return false, fmt.Errorf("redis language marker: %w", err)
	}
	prefs, err := load(ctx)
	if err == nil {
		cmds := make(rueidis.Commands, 0, min(len(prefs), warmBatch))
		flush := func() error {
			for _, r := range s.c.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
					return err
				}
			}
			cmds = cmds[:0]
			return nil
		}
		for phone, lang := range prefs {
			cmds = append(cmds, s.c.B().Set().Key(s.langKey(phone)).Value(lang).Nx().Build())
			if len(cmds) == warmBatch {
				if err = flush(); err != nil {
					break
				}
			}
		}
		if err == nil && len(cmds) > 0 {
			err = flush()
		}
	}
	if err != nil {
		// Let the next start try again.
		s.c.Do(context.WithoutCancel(ctx), s.c.B().Del().Key(s.prefix+"g:warm").Build())
		return false, fmt.Errorf("warm languages: %w", err)
	}
	return true, nil
}

// Ping implements sessions.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Do(ctx, s.c.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close releases the client when Open made it.
func (s *Store) Close() error {
	if s.owned {
		s.c.Close()
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
