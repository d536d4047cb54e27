package ussd

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/sessions/memstore"
	"github.com/huduma-ke/huduma/store/sqlitestore"
)

func newEngine(t *testing.T) *Engine {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, t.TempDir()+"/e.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := catalog.Sample()
	if _, err := st.ImportCatalog(ctx, c); err != nil {
		t.Fatal(err)
	}
	sess := memstore.New()
	t.Cleanup(func() { sess.Close() })
	return New(sess, menus.New(st, nil, menus.Config{}), st, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func atHop(session, path string) huduma.Hop {
	in := path
	if i := strings.LastIndexByte(path, '*'); i >= 0 {
		in = path[i+1:]
	}
	return huduma.Hop{Provider: "test", SessionID: session, MSISDN: "+254712345678", Path: path, Cumulative: true, Input: in, Start: path == ""}
}

func TestRetriesDuplicatesAndStaleHops(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	step := func(path string) string {
		r, err := e.HandleHop(ctx, atHop("s1", path))
		if err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	first := step("")
	if step("") != first {
		t.Fatal("duplicate start changed the screen")
	}
	find := step("1")
	if !strings.Contains(find, "Search by name") || step("1") != find {
		t.Fatal("retried hop did not replay the screen")
	}
	cats := step("1*2")
	if !strings.Contains(cats, "Choose a category") {
		t.Fatalf("categories: %s", cats)
	}
	if step("1") != cats || step("") != cats {
		t.Fatal("a stale hop moved the journey")
	}
	// An unknown session arriving mid-path (our store lost it, or a dial
	// shortcut) replays the whole path.
	r, err := e.HandleHop(ctx, atHop("fresh", "1*3"))
	if err != nil || !strings.Contains(r.Text, "Enter the service code") {
		t.Fatalf("replayed path: %q %v", r.Text, err)
	}
}

func TestLatestOnlyProviders(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	hop := func(in string, start bool) string {
		r, err := e.HandleHop(ctx, huduma.Hop{Provider: "hubtel", SessionID: "h1", MSISDN: "+254712345678", Input: in, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	hop("", true)
	if got := hop("1", false); !strings.Contains(got, "Search by name") {
		t.Fatalf("latest-only hop: %s", got)
	}
	if got := hop("3", false); !strings.Contains(got, "Enter the service code") {
		t.Fatalf("second latest-only hop: %s", got)
	}
}

// TestRacingHops: many concurrent hops of one session, as a telco retry
// storm would send, all get a screen and none corrupts the session.
func TestRacingHops(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	if _, err := e.HandleHop(ctx, atHop("race", "")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	screens := make([]string, 20)
	for i := range screens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.HandleHop(ctx, atHop("race", "1"))
			if err != nil {
				t.Error(err)
				return
			}
			screens[i] = r.Text
		}()
	}
	wg.Wait()
	for i, s := range screens {
		if s != screens[0] || !strings.Contains(s, "Search by name") {
			t.Fatalf("racing hop %d got %q, want the find screen every time", i, s)
		}
	}
	r, _ := e.HandleHop(ctx, atHop("race", "1*1"))
	if !strings.Contains(r.Text, "Enter a service name") {
		t.Fatalf("after the race: %s", r.Text)
	}
}

func TestLanguageRemembered(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	for _, p := range []string{"", "6", "6*2"} {
		if _, err := e.HandleHop(ctx, atHop("l1", p)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.HandleHop(ctx, atHop("l2", ""))
	if err != nil || !strings.Contains(r.Text, "Tafuta huduma") {
		t.Fatalf("new session after choosing Kiswahili: %q %v", r.Text, err)
	}
}
