package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/sessionstest"
)

// raw is a plain client on the test Redis, for reading and writing keys
// as stored, outside the store.
func raw(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// open returns a store on the real Redis under a random prefix, removing
// its keys afterwards (the server is shared with other tests).
func open(t testing.TB) (*Store, string) {
	t.Helper()
	url := testenv.RedisURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "hudumatest:" + hex.EncodeToString(b) + ":"
	s, err := Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	r := raw(t)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := r.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			r.Del(ctx, keys...)
		}
		s.Close()
	})
	return s, prefix
}

func TestConformanceRealRedis(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) (sessions.Store, func(time.Duration)) {
		s, _ := open(t)
		return s, time.Sleep
	})
}

// TestTwoProcesses: two independent clients (as two gateway processes
// would have) see each other's writes and conflicts.
func TestTwoProcesses(t *testing.T) {
	a, prefix := open(t)
	opt, err := ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := New(c, prefix)
	ctx := context.Background()
	k := sessions.Key{Provider: "at", Session: "x", Phone: "+254712345678"}
	if _, err := a.Save(ctx, k, 0, sessions.Write{Value: []byte("from a"), TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	r, err := b.Load(ctx, k)
	if err != nil || string(r.Record.Value) != "from a" {
		t.Fatalf("b sees %q %v", r.Record.Value, err)
	}
	if _, err := b.Save(ctx, k, 1, sessions.Write{Value: []byte("from b"), TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Save(ctx, k, 1, sessions.Write{Value: []byte("stale a"), TTL: time.Minute}); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("stale write from a: %v, want conflict", err)
	}
	// Each process writes the sessions it saved to the shared index; once
	// both have (a gauge read flushes at once), each counts the one
	// session once.
	if _, err := a.Active(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Active(ctx); err != nil || n != 1 {
		t.Fatalf("b counts %d active sessions (%v), want 1", n, err)
	}
	if n, err := a.Active(ctx); err != nil || n != 1 {
		t.Fatalf("a counts %d active sessions (%v), want 1", n, err)
	}
}

// TestMemoryUsage measures what one session costs in Redis: a 600-byte
// value (bigger than any real session) must stay under 1 KB.
func TestMemoryUsage(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	k := sessions.Key{Provider: "africastalking", Session: "ATUid_0123456789abcdef0123456789abcdef", Phone: "+254712345678"}
	if _, err := s.Save(ctx, k, 0, sessions.Write{Value: make([]byte, 600), TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	n, err := raw(t).MemoryUsage(ctx, s.key(k)).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEMORY USAGE of a session with a 600-byte value: %d bytes", n)
	if n > 1024 {
		t.Fatalf("session takes %d bytes in Redis, want <= 1024", n)
	}
}

// TestUnreachableFailsFast: with no Redis (or no Sentinel) answering,
// Open gives up within the hop-budget timeouts instead of hanging.
func TestUnreachableFailsFast(t *testing.T) {
	for _, url := range []string{"redis://127.0.0.1:1/0", "redis+sentinel://127.0.0.1:1,127.0.0.1:2/huduma"} {
		start := time.Now()
		if _, err := Open(context.Background(), url, "x:"); err == nil {
			t.Fatalf("Open on closed ports succeeded: %s", url)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Open %s took %s to fail", url, d)
		}
	}
}

// BenchmarkRedisLoadSave is one hop's session traffic: a load and a save.
func BenchmarkRedisLoadSave(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
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

// TestOlderHashRecordsStartAfresh: a session two releases old, stored as
// a hash (v, d), reads as no session, and the hop that starts one in its
// place replaces it instead of failing.
func TestOlderHashRecordsStartAfresh(t *testing.T) {
	s, prefix := open(t)
	ctx := context.Background()
	k := sessions.Key{Provider: "at", Session: "old", Phone: "+254712345678"}
	if err := raw(t).HSet(ctx, prefix+"s:"+k.ID(), "v", 3, "d", "midway").Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Load(ctx, k); err != nil || r.Record.Version != 0 {
		t.Fatalf("older record: %+v %v", r, err)
	}
	if v, err := s.Save(ctx, k, 0, sessions.Write{Value: []byte("next"), TTL: time.Minute}); err != nil || v != 1 {
		t.Fatalf("save over an older record: v=%d %v", v, err)
	}
	if got, _ := raw(t).Get(ctx, prefix+"s:"+k.ID()).Result(); got != "1:next" {
		t.Fatalf("stored %q, want the string form", got)
	}
}

// TestRecentCopyIsChecked: a hop that continues a session takes its record
// from this process's copy of what it saved, and the save writes only when
// the stored record is exactly that copy. Another process's newer save,
// the same version with other data (a failover that lost the write, an
// expiry and a new session under the same id) and a deleted record each
// make the save a conflict that writes nothing, after which the copy is
// what is stored (or gone), so the retry is right without a read.
func TestRecentCopyIsChecked(t *testing.T) {
	a, prefix := open(t)
	r := raw(t)
	ctx := context.Background()
	ttl := time.Minute
	save := func(s *Store, k sessions.Key, expect int64, v string) (int64, error) {
		return s.Save(ctx, k, expect, sessions.Write{Value: []byte(v), TTL: ttl})
	}
	existing := func(s *Store, k sessions.Key) sessions.Record {
		t.Helper()
		ld, err := s.LoadExisting(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return ld.Record
	}
	stored := func(k sessions.Key) string {
		got, _ := r.Get(ctx, prefix+"s:"+k.ID()).Result()
		return got
	}

	// Another process saves a newer version.
	k := sessions.Key{Provider: "at", Session: "two-processes", Phone: "+254712345678"}
	if _, err := save(a, k, 0, "main menu"); err != nil {
		t.Fatal(err)
	}
	b, _ := open(t)
	b.prefix = prefix
	if rec := existing(b, k); rec.Version != 1 || string(rec.Value) != "main menu" {
		t.Fatalf("b reads %+v", rec)
	}
	if _, err := save(b, k, 1, "find (b)"); err != nil {
		t.Fatal(err)
	}
	if rec := existing(a, k); rec.Version != 1 {
		t.Fatalf("a's own copy: %+v", rec) // stale, as expected: the save checks it
	}
	if _, err := save(a, k, 1, "find (a, stale)"); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("a save from a stale copy: %v, want a conflict", err)
	}
	if got := stored(k); got != "2:find (b)" {
		t.Fatalf("stored %q after the stale save", got)
	}
	if rec := existing(a, k); rec.Version != 2 || string(rec.Value) != "find (b)" {
		t.Fatalf("after the conflict a's copy is %+v, want b's record", rec)
	}
	if v, err := save(a, k, 2, "search (a)"); err != nil || v != 3 {
		t.Fatalf("a's retry: v=%d %v", v, err)
	}

	// The same version with other data.
	k2 := sessions.Key{Provider: "at", Session: "same-version", Phone: "+254712345679"}
	if _, err := save(a, k2, 0, "x"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, prefix+"s:"+k2.ID(), "1:y", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := save(a, k2, 1, "from x"); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("a save from a copy whose data differs: %v, want a conflict", err)
	}
	if got := stored(k2); got != "1:y" {
		t.Fatalf("stored %q, want it untouched", got)
	}
	if rec := existing(a, k2); rec.Version != 1 || string(rec.Value) != "y" {
		t.Fatalf("after the conflict the copy is %+v, want the stored y", rec)
	}

	// Deleted behind the process's back.
	k3 := sessions.Key{Provider: "at", Session: "deleted", Phone: "+254712345670"}
	if _, err := save(a, k3, 0, "x"); err != nil {
		t.Fatal(err)
	}
	if err := r.Del(ctx, prefix+"s:"+k3.ID()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := save(a, k3, 1, "from x"); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("a save from a copy of a deleted record: %v, want a conflict", err)
	}
	if got := stored(k3); got != "" {
		t.Fatalf("stored %q, want nothing", got)
	}
	if rec := existing(a, k3); rec.Version != 0 {
		t.Fatalf("after the conflict: %+v, want no record", rec)
	}
}
