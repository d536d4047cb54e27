package ussd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/sessions/redisstore"
)

// openRedis is a session store on the Redis at url under a fresh prefix.
func openRedis(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	s, err := redisstore.Open(context.Background(), url, "hudumatest:"+hex.EncodeToString(b)+":")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRedisCommandsPerEngineHop counts, on a Redis server of its own, what
// each hop of a journey costs through the engine: four commands for a
// session's first hop (the read, the script, its read and its write), both
// for a phone with nothing to resume and for one offered its unfinished
// journey, and three for every later hop, whose record is this process's
// own copy of what it saved (no read; the script checks the copy is what
// is stored). The one exception is the answer to that offer (resume, or
// start again): the session becomes the phone's latest while the journey
// it replaces is still stored, and the script writes that one back to its
// own key so that nothing of it is lost, one command more.
func TestRedisCommandsPerEngineHop(t *testing.T) {
	url := testenv.PrivateRedis(t)
	e, _ := newEngineOn(t, openRedis(t, url), Config{ResumeWindow: time.Minute, ServiceCode: "*2222#"})
	opt, _ := redis.ParseURL(url)
	counter := redis.NewClient(opt)
	defer counter.Close()
	ctx := context.Background()
	// Loads the script and opens the connection, outside the count.
	if _, err := e.HandleHop(ctx, huduma.Hop{Provider: "test", SessionID: "warm", MSISDN: "+254700000000", Start: true, Cumulative: true}); err != nil {
		t.Fatal(err)
	}
	journey := func(session string, paths []string) []int64 {
		var counts []int64
		for _, p := range paths {
			before := testenv.RedisCommands(t, counter)
			if _, err := e.HandleHop(ctx, atHop(session, p)); err != nil {
				t.Fatal(err)
			}
			counts = append(counts, testenv.HopCommands(before, testenv.RedisCommands(t, counter)))
		}
		return counts
	}
	// Left midway, on the service's input screen.
	first := journey("one", []string{"", "1", "1*3", "1*3*1001"})
	r, err := e.HandleHop(ctx, atHop("two", ""))
	if err != nil || r.Screen != "resume" {
		t.Fatalf("the next session's first screen: %+v %v, want the resume offer", r, err)
	}
	second := journey("three", []string{"", "2", "2*1", "2*1*3"})
	testenv.Figure(t, "Redis commands per hop through the engine: %v; with a journey to offer: %v", first, second)
	want := []int64{4, 3, 3, 3, 4, 4, 3, 3}
	for i, n := range append(first, second...) {
		if n != want[i] {
			t.Errorf("hop %d: %d Redis commands, want %d (%v then %v)", i%4+1, n, want[i], first, second)
		}
	}
}

// TestRacingFirstHopsOnRedis: identical first hops of one session, each
// dialling a shortcut that ends in an SMS, race on the real Redis: one is
// applied, every one answers with its screen, and the SMS is asked for
// under one key.
func TestRacingFirstHopsOnRedis(t *testing.T) {
	st := openRedis(t, testenv.RedisURL(t))
	e, fx := newEngineOn(t, st, Config{ServiceCode: "*2222#"})
	ctx := context.Background()
	hop := huduma.Hop{Provider: "test", SessionID: "dial", MSISDN: "+254712345678", ServiceCode: "*2222*1*3*1001*2#", Cumulative: true, Start: true}
	var wg sync.WaitGroup
	replies := make([]huduma.Reply, 8)
	for i := range replies {
		wg.Go(func() {
			r, err := e.HandleHop(ctx, hop)
			if err != nil {
				t.Errorf("racing first hop: %v", err)
			}
			replies[i] = r
		})
	}
	wg.Wait()
	for _, r := range replies {
		if r.Text != replies[0].Text || !r.End {
			t.Fatalf("racing first hops answered differently: %q and %q", replies[0].Text, r.Text)
		}
	}
	if ld, err := st.Load(ctx, Key(hop)); err != nil || ld.Record.Version != 1 {
		t.Fatalf("after the race the session is at version %d (%v), want 1: one hop applied", ld.Record.Version, err)
	}
	if len(fx.done) != 1 {
		t.Fatalf("%d distinct effects (%v), want 1", len(fx.done), fx.done)
	}
	for key, what := range fx.done {
		if !strings.HasPrefix(key, "ussd:test:dial:+254712345678:1.") || !strings.Contains(what, "details 1001") {
			t.Fatalf("effect %q under key %q", what, key)
		}
	}
}

// TestRacingLaterHopsOnRedis: identical later hops of one session, each
// ending in an SMS, race on the real Redis, half through a process that
// saved the session (and starts from its own copy of the record) and half
// through another that never did: one is applied, every one answers with
// the same screen, and the SMS is asked for under one key.
func TestRacingLaterHopsOnRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	ctx := context.Background()
	rb := make([]byte, 6)
	_, _ = rand.Read(rb)
	prefix := "hudumatest:" + hex.EncodeToString(rb) + ":"
	open := func() *redisstore.Store {
		s, err := redisstore.Open(ctx, url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	e1, fx := newEngineOn(t, a, Config{ServiceCode: "*2222#"})
	if _, err := e1.HandleHop(ctx, atHop("later", "")); err != nil {
		t.Fatal(err)
	}
	// Another process on the same keys, sharing the effects recorder.
	e2 := New(b, e1.menus, fx, e1.cfg, e1.log)
	hop := atHop("later", "1*3*1001*2")
	var wg sync.WaitGroup
	replies := make([]huduma.Reply, 8)
	for i := range replies {
		e := e1
		if i%2 == 1 {
			e = e2
		}
		wg.Go(func() {
			r, err := e.HandleHop(ctx, hop)
			if err != nil {
				t.Errorf("racing later hop: %v", err)
			}
			replies[i] = r
		})
	}
	wg.Wait()
	for _, r := range replies {
		if r.Text != replies[0].Text || !r.End {
			t.Fatalf("racing later hops answered differently: %q and %q", replies[0].Text, r.Text)
		}
	}
	if ld, err := b.Load(ctx, Key(hop)); err != nil || ld.Record.Version != 2 {
		t.Fatalf("after the race the session is at version %d (%v), want 2: one hop applied", ld.Record.Version, err)
	}
	if len(fx.done) != 1 {
		t.Fatalf("%d distinct effects (%v), want 1", len(fx.done), fx.done)
	}
	for key, what := range fx.done {
		if !strings.HasPrefix(key, "ussd:test:later:+254712345678:2.") || !strings.Contains(what, "details 1001") {
			t.Fatalf("effect %q under key %q", what, key)
		}
	}
}
