// Package sessionstest is the one conformance suite every sessions.Store
// must pass: the Redis store against a real server and the in-process
// store, so the embedded mode behaves exactly like production.
package sessionstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/sessions"
)

// Factory returns a fresh, isolated store and a function that moves its
// clock forward by d (sleeping, for stores on a real clock).
type Factory func(t *testing.T) (store sessions.Store, advance func(d time.Duration))

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()
	const ttl = 2 * time.Second
	t.Run("GetMissing", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get missing: %v, want ErrNotFound", err)
		}
	})
	t.Run("CreateAndUpdate", func(t *testing.T) {
		s, _ := newStore(t)
		v, err := s.Put(ctx, "a", 0, []byte("one"), ttl)
		if err != nil || v != 1 {
			t.Fatalf("create: v=%d err=%v", v, err)
		}
		if v, err = s.Put(ctx, "a", 1, []byte("two"), ttl); err != nil || v != 2 {
			t.Fatalf("update: v=%d err=%v", v, err)
		}
		r, err := s.Get(ctx, "a")
		if err != nil || string(r.Value) != "two" || r.Version != 2 {
			t.Fatalf("get: %+v %v", r, err)
		}
	})
	t.Run("StaleVersionConflicts", func(t *testing.T) {
		s, _ := newStore(t)
		mustPut(t, s, "a", 0, "one", ttl)
		mustPut(t, s, "a", 1, "two", ttl)
		for _, expect := range []int64{0, 1, 3} {
			if _, err := s.Put(ctx, "a", expect, []byte("bad"), ttl); !errors.Is(err, sessions.ErrConflict) {
				t.Fatalf("Put expect=%d: %v, want ErrConflict", expect, err)
			}
		}
		if _, err := s.Put(ctx, "fresh", 5, []byte("x"), ttl); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Put on missing with expect 5: %v, want ErrConflict", err)
		}
		if r, _ := s.Get(ctx, "a"); string(r.Value) != "two" || r.Version != 2 {
			t.Fatalf("conflicting puts changed the record: %+v", r)
		}
	})
	t.Run("TTLExpiresAndIsRefreshed", func(t *testing.T) {
		s, advance := newStore(t)
		mustPut(t, s, "a", 0, "one", ttl)
		advance(ttl / 2)
		mustPut(t, s, "a", 1, "two", ttl) // refreshes the TTL
		advance(ttl/2 + 200*time.Millisecond)
		if _, err := s.Get(ctx, "a"); err != nil {
			t.Fatalf("TTL not refreshed by Put: %v", err)
		}
		if n, _ := s.Active(ctx); n != 1 {
			t.Fatalf("Active = %d, want 1", n)
		}
		advance(ttl)
		if _, err := s.Get(ctx, "a"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("expired record: %v, want ErrNotFound", err)
		}
		if n, _ := s.Active(ctx); n != 0 {
			t.Fatalf("Active after expiry = %d, want 0", n)
		}
		if v, err := s.Put(ctx, "a", 0, []byte("new"), ttl); err != nil || v != 1 {
			t.Fatalf("recreate after expiry: v=%d err=%v", v, err)
		}
	})
	t.Run("RacingUpdatesLoseNothing", func(t *testing.T) {
		s, _ := newStore(t)
		const workers, each = 20, 10
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := increment(ctx, s, "counter", ttl*10); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		r, err := s.Get(ctx, "counter")
		if err != nil || string(r.Value) != strconv.Itoa(workers*each) || r.Version != workers*each {
			t.Fatalf("after %d racing increments: %q v%d %v", workers*each, r.Value, r.Version, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s, _ := newStore(t)
		mustPut(t, s, "a", 0, "one", ttl)
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.Get(ctx, "a"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("deleted record: %v", err)
		}
	})
	t.Run("ActiveCounts", func(t *testing.T) {
		s, _ := newStore(t)
		for i := 0; i < 5; i++ {
			mustPut(t, s, fmt.Sprint("s", i), 0, "x", ttl)
		}
		if n, err := s.Active(ctx); err != nil || n != 5 {
			t.Fatalf("Active = %d %v, want 5", n, err)
		}
	})
	t.Run("Values", func(t *testing.T) {
		s, advance := newStore(t)
		if _, err := s.GetValue(ctx, "k"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("missing value: %v", err)
		}
		bin := []byte{0, 1, 2, 255, '\n'}
		if err := s.SetValue(ctx, "k", bin, ttl); err != nil {
			t.Fatal(err)
		}
		if v, err := s.GetValue(ctx, "k"); err != nil || !bytes.Equal(v, bin) {
			t.Fatalf("value = %v %v", v, err)
		}
		advance(ttl + 200*time.Millisecond)
		if _, err := s.GetValue(ctx, "k"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("expired value: %v", err)
		}
	})
	t.Run("PutNote", func(t *testing.T) {
		s, advance := newStore(t)
		v, err := s.PutNote(ctx, "s1", 0, []byte("a"), ttl, sessions.Note{Key: "last:p", Value: []byte("s1"), TTL: ttl / 2})
		if err != nil || v != 1 {
			t.Fatalf("PutNote: %d %v", v, err)
		}
		if r, err := s.Get(ctx, "s1"); err != nil || string(r.Value) != "a" {
			t.Fatalf("record %q %v", r.Value, err)
		}
		if n, err := s.GetValue(ctx, "last:p"); err != nil || string(n) != "s1" {
			t.Fatalf("note %q %v", n, err)
		}
		// A conflict writes neither.
		if _, err := s.PutNote(ctx, "s1", 0, []byte("b"), ttl, sessions.Note{Key: "last:p", Value: []byte("s2"), TTL: ttl}); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("stale PutNote: %v", err)
		}
		if n, _ := s.GetValue(ctx, "last:p"); string(n) != "s1" {
			t.Fatalf("a conflicting PutNote changed the note to %q", n)
		}
		// The note keeps its own TTL.
		advance(ttl/2 + 200*time.Millisecond)
		if _, err := s.GetValue(ctx, "last:p"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("note outlived its TTL: %v", err)
		}
		if _, err := s.Get(ctx, "s1"); err != nil {
			t.Fatalf("record expired with the note: %v", err)
		}
	})
	t.Run("BinarySafe", func(t *testing.T) {
		s, _ := newStore(t)
		bin := bytes.Repeat([]byte{0, 0xff, '"', '\\'}, 200)
		if _, err := s.Put(ctx, "b", 0, bin, ttl); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Get(ctx, "b"); err != nil || !bytes.Equal(r.Value, bin) {
			t.Fatalf("binary value mangled: %v", err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s, _ := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Get(cctx, "a"); err == nil {
			t.Fatal("Get with cancelled context succeeded")
		}
		if _, err := s.Put(cctx, "a", 0, []byte("x"), ttl); err == nil {
			t.Fatal("Put with cancelled context succeeded")
		}
	})
}

func mustPut(t *testing.T, s sessions.Store, id string, expect int64, v string, ttl time.Duration) {
	t.Helper()
	if _, err := s.Put(context.Background(), id, expect, []byte(v), ttl); err != nil {
		t.Fatalf("Put %s@%d: %v", id, expect, err)
	}
}

// increment is a read-modify-write with retry on conflict, the pattern the
// hop engine uses.
func increment(ctx context.Context, s sessions.Store, id string, ttl time.Duration) error {
	for attempt := 0; attempt < 1000; attempt++ {
		n, ver := 0, int64(0)
		r, err := s.Get(ctx, id)
		switch {
		case errors.Is(err, sessions.ErrNotFound):
		case err != nil:
			return err
		default:
			n, _ = strconv.Atoi(string(r.Value))
			ver = r.Version
		}
		_, err = s.Put(ctx, id, ver, []byte(strconv.Itoa(n+1)), ttl)
		if errors.Is(err, sessions.ErrConflict) {
			continue
		}
		return err
	}
	return errors.New("increment: too many conflicts")
}
