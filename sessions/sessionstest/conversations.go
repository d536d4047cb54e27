package sessionstest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/sessions"
)

// runConversations checks the SMS conversations every store keeps beside
// its sessions: the same compare-and-swap and TTL, and the phone's
// language shared with USSD hops in both directions.
func runConversations(t *testing.T, newStore Factory) {
	ctx := context.Background()
	const ttl = 2 * time.Second
	phone := key("").Phone
	save := func(t *testing.T, s sessions.Store, p string, expect int64, v string, lang string) (int64, error) {
		t.Helper()
		return s.SaveConversation(ctx, p, expect, sessions.ConversationWrite{Value: []byte(v), TTL: ttl, Language: lang})
	}
	load := func(t *testing.T, s sessions.Store, p string) sessions.Conversation {
		t.Helper()
		c, err := s.LoadConversation(ctx, p)
		if err != nil {
			t.Fatalf("LoadConversation: %v", err)
		}
		return c
	}
	t.Run("ConversationMissing", func(t *testing.T) {
		s, _ := newStore(t)
		if c := load(t, s, phone); c.Record.Version != 0 || c.Record.Value != nil || c.Language != "" {
			t.Fatalf("missing conversation: %+v", c)
		}
	})
	t.Run("ConversationCompareAndSwap", func(t *testing.T) {
		s, _ := newStore(t)
		if v, err := save(t, s, phone, 0, "one", ""); err != nil || v != 1 {
			t.Fatalf("create: %d %v", v, err)
		}
		if v, err := save(t, s, phone, 1, "two", ""); err != nil || v != 2 {
			t.Fatalf("update: %d %v", v, err)
		}
		for _, expect := range []int64{0, 1, 3} {
			if _, err := save(t, s, phone, expect, "bad", "sw"); !errors.Is(err, sessions.ErrConflict) {
				t.Fatalf("save expecting %d: %v, want ErrConflict", expect, err)
			}
		}
		if c := load(t, s, phone); string(c.Record.Value) != "two" || c.Record.Version != 2 || c.Language != "" {
			t.Fatalf("conflicting saves changed the conversation or the language: %+v", c)
		}
		if c := load(t, s, "+254722000111"); c.Record.Version != 0 {
			t.Fatal("another phone reads this phone's conversation")
		}
	})
	t.Run("ConversationTTL", func(t *testing.T) {
		s, advance := newStore(t)
		if _, err := save(t, s, phone, 0, "one", ""); err != nil {
			t.Fatal(err)
		}
		advance(ttl / 2)
		if _, err := save(t, s, phone, 1, "two", ""); err != nil {
			t.Fatal(err)
		}
		advance(ttl/2 + 200*time.Millisecond)
		if c := load(t, s, phone); c.Record.Version != 2 {
			t.Fatalf("TTL not refreshed by a save: %+v", c)
		}
		advance(ttl)
		if c := load(t, s, phone); c.Record.Version != 0 {
			t.Fatalf("expired conversation still loads: %+v", c)
		}
		if v, err := save(t, s, phone, 0, "new", ""); err != nil || v != 1 {
			t.Fatalf("start again after expiry: %d %v", v, err)
		}
	})
	t.Run("ConversationSharesTheLanguage", func(t *testing.T) {
		s, _ := newStore(t)
		// LANG SW by SMS: a new USSD session of the phone starts in it.
		if _, err := save(t, s, phone, 0, "x", "sw"); err != nil {
			t.Fatal(err)
		}
		if got := mustLoad(t, s, key("new")); got.Language != "sw" {
			t.Fatalf("a USSD session after LANG SW by SMS: language %q", got.Language)
		}
		// English chosen on USSD: the existing conversation reads it.
		if _, err := s.Save(ctx, key("u1"), 0, sessions.Write{Value: []byte("x"), TTL: ttl, Language: "en"}); err != nil {
			t.Fatal(err)
		}
		if c := load(t, s, phone); c.Language != "en" || c.Record.Version != 1 {
			t.Fatalf("the conversation after English on USSD: %+v", c)
		}
		// A save without a language leaves it.
		if _, err := save(t, s, phone, 1, "y", ""); err != nil {
			t.Fatal(err)
		}
		if c := load(t, s, phone); c.Language != "en" {
			t.Fatalf("a save without a language changed it to %q", c.Language)
		}
		if c := load(t, s, "+254722000111"); c.Language != "" {
			t.Fatal("another phone reads this phone's language")
		}
	})
	t.Run("ConversationsAreNotSessions", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := save(t, s, phone, 0, "x", ""); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Active(ctx); err != nil || n != 0 {
			t.Fatalf("Active = %d %v with one conversation and no session", n, err)
		}
		if got := mustLoad(t, s, sessions.Key{Provider: "sms", Session: "", Phone: phone}); got.Record.Version != 0 {
			t.Fatal("a conversation reads as a USSD session")
		}
	})
	t.Run("ConversationRacesLoseNothing", func(t *testing.T) {
		s, _ := newStore(t)
		const workers, each = 10, 10
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for i := 0; i < each; i++ {
					if err := incrementConversation(ctx, s, phone, ttl*10); err != nil {
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
		if c := load(t, s, phone); string(c.Record.Value) != strconv.Itoa(workers*each) || c.Record.Version != workers*each {
			t.Fatalf("after %d racing increments: %q v%d", workers*each, c.Record.Value, c.Record.Version)
		}
	})
	t.Run("ConversationCancelledContext", func(t *testing.T) {
		s, _ := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.LoadConversation(cctx, phone); err == nil {
			t.Fatal("LoadConversation with a cancelled context succeeded")
		}
		if _, err := s.SaveConversation(cctx, phone, 0, sessions.ConversationWrite{Value: []byte("x"), TTL: ttl}); err == nil {
			t.Fatal("SaveConversation with a cancelled context succeeded")
		}
	})
}

// incrementConversation is the SMS inbox's read-modify-write with retry.
func incrementConversation(ctx context.Context, s sessions.Store, phone string, ttl time.Duration) error {
	for attempt := 0; attempt < 1000; attempt++ {
		c, err := s.LoadConversation(ctx, phone)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(c.Record.Value))
		_, err = s.SaveConversation(ctx, phone, c.Record.Version, sessions.ConversationWrite{Value: []byte(strconv.Itoa(n + 1)), TTL: ttl})
		if errors.Is(err, sessions.ErrConflict) {
			continue
		}
		return err
	}
	return errors.New("increment conversation: too many conflicts")
}
