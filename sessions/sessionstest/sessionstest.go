// Package sessionstest is the one conformance suite every sessions.Store
// must pass: the Redis store against a real server and the in-process
// store, so the embedded mode behaves exactly like production. It covers
// the SMS conversations (conversations.go) as well as the USSD sessions.
package sessionstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/sessions"
)

// Factory returns a fresh, isolated store and a function that moves its
// clock forward by d (sleeping, for stores on a real clock).
type Factory func(t *testing.T) (store sessions.Store, advance func(d time.Duration))

// key names a session of the test phone.
func key(session string) sessions.Key {
	return sessions.Key{Provider: "test", Session: session, Phone: "+254712345678"}
}

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()
	const ttl = 2 * time.Second
	t.Run("LoadMissing", func(t *testing.T) {
		s, _ := newStore(t)
		got := mustLoad(t, s, key("nope"))
		if got.Record.Version != 0 || got.Record.Value != nil || got.Language != "" || got.Latest != nil {
			t.Fatalf("Load missing: %+v, want nothing", got)
		}
	})
	t.Run("CreateAndUpdate", func(t *testing.T) {
		s, _ := newStore(t)
		v, err := s.Save(ctx, key("a"), 0, sessions.Write{Value: []byte("one"), TTL: ttl})
		if err != nil || v != 1 {
			t.Fatalf("create: v=%d err=%v", v, err)
		}
		if v, err = s.Save(ctx, key("a"), 1, sessions.Write{Value: []byte("two"), TTL: ttl}); err != nil || v != 2 {
			t.Fatalf("update: v=%d err=%v", v, err)
		}
		r := mustLoad(t, s, key("a"))
		if string(r.Record.Value) != "two" || r.Record.Version != 2 {
			t.Fatalf("load: %+v", r)
		}
	})
	t.Run("StaleVersionConflicts", func(t *testing.T) {
		s, _ := newStore(t)
		mustSave(t, s, "a", 0, "one", ttl)
		mustSave(t, s, "a", 1, "two", ttl)
		for _, expect := range []int64{0, 1, 3} {
			if _, err := s.Save(ctx, key("a"), expect, sessions.Write{Value: []byte("bad"), TTL: ttl}); !errors.Is(err, sessions.ErrConflict) {
				t.Fatalf("Save expect=%d: %v, want ErrConflict", expect, err)
			}
		}
		if _, err := s.Save(ctx, key("fresh"), 5, sessions.Write{Value: []byte("x"), TTL: ttl}); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save on missing with expect 5: %v, want ErrConflict", err)
		}
		if r := mustLoad(t, s, key("a")); string(r.Record.Value) != "two" || r.Record.Version != 2 {
			t.Fatalf("conflicting saves changed the record: %+v", r)
		}
	})
	t.Run("SessionsBelongToTheirPhone", func(t *testing.T) {
		s, _ := newStore(t)
		mustSave(t, s, "shared", 0, "phone A", ttl)
		other := sessions.Key{Provider: "test", Session: "shared", Phone: "+254722000111"}
		if r := mustLoad(t, s, other); r.Record.Version != 0 {
			t.Fatalf("another phone with the same session id read %q", r.Record.Value)
		}
		if _, err := s.Save(ctx, other, 0, sessions.Write{Value: []byte("phone B"), TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		if r := mustLoad(t, s, key("shared")); string(r.Record.Value) != "phone A" || r.Record.Version != 1 {
			t.Fatalf("phone B changed phone A's session: %+v", r)
		}
		otherProvider := sessions.Key{Provider: "other", Session: "shared", Phone: key("").Phone}
		if r := mustLoad(t, s, otherProvider); r.Record.Version != 0 {
			t.Fatal("another provider's session id read this one")
		}
	})
	t.Run("TTLExpiresAndIsRefreshed", func(t *testing.T) {
		s, advance := newStore(t)
		mustSave(t, s, "a", 0, "one", ttl)
		advance(ttl / 2)
		mustSave(t, s, "a", 1, "two", ttl) // refreshes the TTL
		advance(ttl/2 + 200*time.Millisecond)
		if r := mustLoad(t, s, key("a")); r.Record.Version != 2 {
			t.Fatalf("TTL not refreshed by Save: %+v", r)
		}
		if n, _ := s.Active(ctx); n != 1 {
			t.Fatalf("Active = %d, want 1", n)
		}
		advance(ttl)
		if r := mustLoad(t, s, key("a")); r.Record.Version != 0 {
			t.Fatalf("expired record still loads: %+v", r)
		}
		if n, _ := s.Active(ctx); n != 0 {
			t.Fatalf("Active after expiry = %d, want 0", n)
		}
		if v, err := s.Save(ctx, key("a"), 0, sessions.Write{Value: []byte("new"), TTL: ttl}); err != nil || v != 1 {
			t.Fatalf("recreate after expiry: v=%d err=%v", v, err)
		}
	})
	t.Run("RacingUpdatesLoseNothing", func(t *testing.T) {
		s, _ := newStore(t)
		const workers, each = 20, 10
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for i := 0; i < each; i++ {
					if err := increment(ctx, s, key("counter"), ttl*10); err != nil {
						errc <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		r := mustLoad(t, s, key("counter"))
		if string(r.Record.Value) != strconv.Itoa(workers*each) || r.Record.Version != workers*each {
			t.Fatalf("after %d racing increments: %q v%d", workers*each, r.Record.Value, r.Record.Version)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s, _ := newStore(t)
		mustSave(t, s, "a", 0, "one", ttl)
		if err := s.Delete(ctx, key("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key("a")); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if r := mustLoad(t, s, key("a")); r.Record.Version != 0 {
			t.Fatalf("deleted record: %+v", r)
		}
	})
	t.Run("ActiveCounts", func(t *testing.T) {
		s, _ := newStore(t)
		for i := 0; i < 5; i++ {
			mustSave(t, s, fmt.Sprint("s", i), 0, "x", ttl)
		}
		if n, err := s.Active(ctx); err != nil || n != 5 {
			t.Fatalf("Active = %d %v, want 5", n, err)
		}
	})
	t.Run("LanguageAndLatestRideAlong", func(t *testing.T) {
		s, advance := newStore(t)
		if _, err := s.Save(ctx, key("s1"), 0, sessions.Write{Value: []byte("left midway"), TTL: ttl * 2, MarkLatest: true, LatestTTL: ttl,
			Language: "sw"}); err != nil {
			t.Fatal(err)
		}
		got := mustLoad(t, s, key("s2"))
		if got.Record.Version != 0 || got.Language != "sw" || string(got.Latest) != "left midway" {
			t.Fatalf("a new session of the phone: %+v, want language sw and the latest session", got)
		}
		if got := mustLoad(t, s, key("s1")); got.Language != "" || got.Latest != nil {
			t.Fatalf("an existing session carries the new-session extras: %+v", got)
		}
		other := mustLoad(t, s, sessions.Key{Provider: "test", Session: "s9", Phone: "+254722000111"})
		if other.Language != "" || other.Latest != nil {
			t.Fatalf("another phone sees this phone's extras: %+v", other)
		}
		// A conflict writes neither the pointer nor the language.
		if _, err := s.Save(ctx, key("s3"), 4, sessions.Write{Value: []byte("x"), TTL: ttl, MarkLatest: true, LatestTTL: ttl, Language: "en"}); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("stale save: %v", err)
		}
		if got := mustLoad(t, s, key("s2")); got.Language != "sw" || string(got.Latest) != "left midway" {
			t.Fatalf("a conflicting save changed the extras: %+v", got)
		}
		// The pointer keeps its own TTL; the language has none.
		advance(ttl + 200*time.Millisecond)
		if got := mustLoad(t, s, key("s2")); got.Latest != nil || got.Language != "sw" {
			t.Fatalf("after the pointer's TTL: %+v", got)
		}
		if got := mustLoad(t, s, key("s1")); got.Record.Version != 1 {
			t.Fatal("the session expired with its pointer")
		}
		// A pointer to an expired session gives nothing.
		mustSave(t, s, "s4", 0, "short", ttl/4)
		if _, err := s.Save(ctx, key("s4"), 1, sessions.Write{Value: []byte("short"), TTL: ttl / 4, MarkLatest: true, LatestTTL: ttl * 4}); err != nil {
			t.Fatal(err)
		}
		advance(ttl/4 + 200*time.Millisecond)
		if got := mustLoad(t, s, key("s5")); got.Latest != nil {
			t.Fatalf("the pointer outlived its session: %q", got.Latest)
		}
	})
	t.Run("LatestChangesHands", func(t *testing.T) {
		s, _ := newStore(t)
		mark := func(session string, expect int64, v string) {
			t.Helper()
			if _, err := s.Save(ctx, key(session), expect, sessions.Write{Value: []byte(v), TTL: ttl * 5, MarkLatest: true, LatestTTL: ttl * 5}); err != nil {
				t.Fatalf("mark %s@%d: %v", session, expect, err)
			}
		}
		mustSave(t, s, "s1", 0, "s1 one", ttl*5)
		mark("s1", 1, "s1 two")
		mustSave(t, s, "s1", 2, "s1 three", ttl*5)
		if got := mustLoad(t, s, key("s1")); string(got.Record.Value) != "s1 three" || got.Record.Version != 3 {
			t.Fatalf("the latest session after a later save: %+v", got)
		}
		if got := mustLoad(t, s, key("n1")); string(got.Latest) != "s1 three" {
			t.Fatalf("a new session sees %q as the latest, want its newest save", got.Latest)
		}
		// A second session of the phone, alive at the same time, becomes
		// the latest: the first keeps every byte and version it had.
		mustSave(t, s, "s2", 0, "s2 one", ttl*5)
		mark("s2", 1, "s2 two")
		if got := mustLoad(t, s, key("s1")); string(got.Record.Value) != "s1 three" || got.Record.Version != 3 {
			t.Fatalf("the earlier session after another became the latest: %+v", got)
		}
		if got := mustLoad(t, s, key("n2")); string(got.Latest) != "s2 two" {
			t.Fatalf("latest after it moved: %q", got.Latest)
		}
		if _, err := s.Save(ctx, key("s1"), 2, sessions.Write{Value: []byte("stale"), TTL: ttl * 5, MarkLatest: true, LatestTTL: ttl}); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("a stale save marking the latest: %v", err)
		}
		mustSave(t, s, "s1", 3, "s1 four", ttl*5)
		if got := mustLoad(t, s, key("s1")); string(got.Record.Value) != "s1 four" || got.Record.Version != 4 {
			t.Fatalf("the earlier session saved again: %+v", got)
		}
		if got := mustLoad(t, s, key("n3")); string(got.Latest) != "s2 two" {
			t.Fatalf("saving the earlier session took the latest back: %q", got.Latest)
		}
		if n, err := s.Active(ctx); err != nil || n != 2 {
			t.Fatalf("Active = %d %v, want 2", n, err)
		}
		if err := s.Delete(ctx, key("s2")); err != nil {
			t.Fatal(err)
		}
		if got := mustLoad(t, s, key("s2")); got.Record.Version != 0 {
			t.Fatalf("deleted latest session loads: %+v", got)
		}
		if got := mustLoad(t, s, key("n4")); got.Latest != nil {
			t.Fatalf("the deleted session is still offered: %q", got.Latest)
		}
		if n, err := s.Active(ctx); err != nil || n != 1 {
			t.Fatalf("Active after the delete = %d %v, want 1", n, err)
		}
	})
	t.Run("WarmLanguages", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := s.Save(ctx, key("s1"), 0, sessions.Write{Value: []byte("x"), TTL: ttl, Language: "en"}); err != nil {
			t.Fatal(err)
		}
		calls := 0
		load := func(context.Context) (map[string]string, error) {
			calls++
			return map[string]string{key("").Phone: "sw", "+254722000111": "sw"}, nil
		}
		if loaded, err := s.WarmLanguages(ctx, load); err != nil || !loaded {
			t.Fatalf("first warm: %v %v", loaded, err)
		}
		if loaded, err := s.WarmLanguages(ctx, load); err != nil || loaded || calls != 1 {
			t.Fatalf("second warm: loaded %v, %d loads, %v", loaded, calls, err)
		}
		if got := mustLoad(t, s, sessions.Key{Provider: "test", Session: "n", Phone: "+254722000111"}); got.Language != "sw" {
			t.Fatalf("warmed language: %q", got.Language)
		}
		if got := mustLoad(t, s, key("n")); got.Language != "en" {
			t.Fatalf("the warm overwrote a newer choice: %q", got.Language)
		}
	})
	t.Run("BinarySafe", func(t *testing.T) {
		s, _ := newStore(t)
		bin := bytes.Repeat([]byte{0, 0xff, '"', '\\'}, 200)
		if _, err := s.Save(ctx, key("b"), 0, sessions.Write{Value: bin, TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		if r := mustLoad(t, s, key("b")); !bytes.Equal(r.Record.Value, bin) {
			t.Fatal("binary value mangled")
		}
	})
	runConversations(t, newStore)
	t.Run("CancelledContext", func(t *testing.T) {
		s, _ := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Load(cctx, key("a")); err == nil {
			t.Fatal("Load with cancelled context succeeded")
		}
		if _, err := s.Save(cctx, key("a"), 0, sessions.Write{Value: []byte("x"), TTL: ttl}); err == nil {
			t.Fatal("Save with cancelled context succeeded")
		}
	})
}

func mustSave(t *testing.T, s sessions.Store, session string, expect int64, v string, ttl time.Duration) {
	t.Helper()
	if _, err := s.Save(context.Background(), key(session), expect, sessions.Write{Value: []byte(v), TTL: ttl}); err != nil {
		t.Fatalf("Save %s@%d: %v", session, expect, err)
	}
}

func mustLoad(t *testing.T, s sessions.Store, k sessions.Key) sessions.Loaded {
	t.Helper()
	got, err := s.Load(context.Background(), k)
	if err != nil {
		t.Fatalf("Load %s: %v", k.ID(), err)
	}
	// Every read of the suite also checks that LoadExisting gives the
	// same answer, whether the record exists or not.
	again, err := s.LoadExisting(context.Background(), k)
	if err != nil {
		t.Fatalf("LoadExisting %s: %v", k.ID(), err)
	}
	if !reflect.DeepEqual(got, again) {
		t.Fatalf("LoadExisting %s = %+v, Load = %+v", k.ID(), again, got)
	}
	return got
}

// increment is a read-modify-write with retry on conflict, the pattern the
// hop engine uses.
func increment(ctx context.Context, s sessions.Store, k sessions.Key, ttl time.Duration) error {
	for attempt := 0; attempt < 1000; attempt++ {
		got, err := s.LoadExisting(ctx, k)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(got.Record.Value))
		_, err = s.Save(ctx, k, got.Record.Version, sessions.Write{Value: []byte(strconv.Itoa(n + 1)), TTL: ttl})
		if errors.Is(err, sessions.ErrConflict) {
			continue
		}
		return err
	}
	return errors.New("increment: too many conflicts")
}
