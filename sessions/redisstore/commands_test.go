package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/sessions"
)

// TestCommandsPerHop counts, on a Redis server of its own, the commands
// one hop's load and save cost: four (MGET, the script, its MGET and its
// SET) for a session's first hop, whether or not the phone has a journey
// to offer, for the hop that makes the session the phone's latest, and
// for every other hop; one more SET on the rare hop that also remembers a
// language.
func TestCommandsPerHop(t *testing.T) {
	url := testenv.PrivateRedis(t)
	s, err := Open(context.Background(), url, "huduma:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opt, _ := redis.ParseURL(url)
	counter := redis.NewClient(opt)
	defer counter.Close()
	ctx := context.Background()
	// Loads the script and opens the connection, outside the count.
	if _, err := s.Save(ctx, sessions.Key{Provider: "at", Session: "warm", Phone: "+254700000000"}, 0, sessions.Write{Value: []byte("x"), TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	const ttl = time.Minute
	hop := func(name string, k sessions.Key, w sessions.Write, want int64, check func(sessions.Loaded)) {
		t.Helper()
		before := testenv.RedisCommands(t, counter)
		ld, err := s.Load(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if check != nil {
			check(ld)
		}
		if _, err := s.Save(ctx, k, ld.Record.Version, w); err != nil {
			t.Fatal(err)
		}
		got := testenv.HopCommands(before, testenv.RedisCommands(t, counter))
		testenv.Figure(t, "%s: %d Redis commands", name, got)
		if got != want {
			t.Errorf("%s: %d Redis commands, want %d", name, got, want)
		}
	}
	k := sessions.Key{Provider: "at", Session: "one", Phone: "+254712345678"}
	hop("first hop", k, sessions.Write{Value: []byte("main menu"), TTL: ttl}, 4, nil)
	hop("hop that marks the latest", k, sessions.Write{Value: []byte("find"), TTL: ttl, MarkLatest: true, LatestTTL: ttl}, 4, nil)
	for i := range 5 {
		hop("later hop "+strconv.Itoa(i+2), k, sessions.Write{Value: []byte("step " + strconv.Itoa(i)), TTL: ttl}, 4, nil)
	}
	next := sessions.Key{Provider: "at", Session: "two", Phone: k.Phone}
	hop("first hop with a journey to offer", next, sessions.Write{Value: []byte("offer"), TTL: ttl}, 4, func(ld sessions.Loaded) {
		if string(ld.Latest) != "step 4" {
			t.Errorf("the offer's journey: %q", ld.Latest)
		}
	})
	hop("hop that chooses a language", next, sessions.Write{Value: []byte("sw"), TTL: ttl, Language: "sw"}, 5, nil)
	hop("hop that takes the latest from a live session", next, sessions.Write{Value: []byte("again"), TTL: ttl, MarkLatest: true, LatestTTL: ttl}, 5, nil)
}
