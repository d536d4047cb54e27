package ussd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/sessions/memstore"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// recordedEffects keeps what the engine asked for, by key, the way the
// outbox deduplicates by key.
type recordedEffects struct {
	mu    sync.Mutex
	calls int
	done  map[string]string
}

func (r *recordedEffects) add(key, what string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.done == nil {
		r.done = map[string]string{}
	}
	r.done[key] = what
	return nil
}

func (r *recordedEffects) SendServiceDetails(_ context.Context, phone huduma.MSISDN, code int, _ huduma.Language, key string) error {
	return r.add(key, fmt.Sprintf("details %d to %s", code, phone))
}

func (r *recordedEffects) ResendReceipt(_ context.Context, n huduma.InvoiceNumber, phone huduma.MSISDN, key string) error {
	return r.add(key, fmt.Sprintf("receipt %s to %s", n, phone))
}

func (r *recordedEffects) SetLanguage(_ context.Context, phone huduma.MSISDN, lang huduma.Language) error {
	return r.add("language:"+string(phone), string(lang))
}

func newEngine(t *testing.T) *Engine {
	e, _ := newEngineWith(t)
	return e
}

func newEngineWith(t *testing.T) (*Engine, *recordedEffects) {
	t.Helper()
	sess := memstore.New()
	t.Cleanup(func() { sess.Close() })
	return newEngineOn(t, sess, Config{})
}

// newEngineOn is an engine on the sample catalog with the session store
// and configuration given.
func newEngineOn(t testing.TB, sess SessionStore, cfg Config) (*Engine, *recordedEffects) {
	t.Helper()
	st := sqlitetest.OpenWithSample(t)
	fx := &recordedEffects{}
	return New(sess, menus.New(st, payments{}, menus.Config{}), fx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))), fx
}

// payments is a menus.Payments with nothing in it, so the engine tests
// reach the screens that ask for effects.
type payments struct{}

func (payments) CreateInvoice(context.Context, huduma.InvoiceRequest) (huduma.Invoice, bool, error) {
	return huduma.Invoice{}, false, errors.New("no invoices here")
}
func (payments) RequestPush(context.Context, huduma.InvoiceNumber, huduma.MSISDN, string) error {
	return errors.New("no prompts here")
}
func (payments) RequestPushByPayer(context.Context, huduma.InvoiceNumber, huduma.MSISDN, string) error {
	return errors.New("no prompts here")
}
func (payments) Invoice(context.Context, huduma.InvoiceNumber) (huduma.Invoice, error) {
	return huduma.Invoice{}, huduma.ErrNotFound
}
func (payments) InvoicesByPhone(context.Context, huduma.MSISDN, int, int) ([]huduma.Invoice, error) {
	return nil, nil
}
func (payments) TrackApplication(context.Context, string, huduma.MSISDN) (huduma.Application, error) {
	return huduma.Application{}, huduma.ErrNotFound
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

// TestAnotherPhoneGetsItsOwnSession: phone B arriving with phone A's
// session id starts its own session; A's is untouched.
func TestAnotherPhoneGetsItsOwnSession(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	for _, p := range []string{"", "1", "1*3"} {
		if _, err := e.HandleHop(ctx, atHop("shared", p)); err != nil {
			t.Fatal(err)
		}
	}
	b := atHop("shared", "1*3*1001")
	b.MSISDN = "+254722000111"
	r, err := e.HandleHop(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// B's session is new: it replays B's whole path from the main menu,
	// never A's screens.
	if !strings.Contains(r.Text, "passport") {
		t.Fatalf("phone B: %q", r.Text)
	}
	r, err = e.HandleHop(ctx, atHop("shared", "1*3"))
	if err != nil || !strings.Contains(r.Text, "Enter the service code") {
		t.Fatalf("phone A after B: %q %v, want its own screen replayed", r.Text, err)
	}
}

// TestEffectsOnceUnderRacingHops: identical hops asking for an SMS race;
// each runs the effect under the same key, so it happens once.
func TestEffectsOnceUnderRacingHops(t *testing.T) {
	e, fx := newEngineWith(t)
	ctx := context.Background()
	for _, p := range []string{"", "1", "1*3", "1*3*1001"} {
		if _, err := e.HandleHop(ctx, atHop("fx", p)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			if r, err := e.HandleHop(ctx, atHop("fx", "1*3*1001*2")); err != nil || !r.End {
				t.Errorf("sms me details: %+v %v", r, err)
			}
		})
	}
	wg.Wait()
	if len(fx.done) != 1 {
		t.Fatalf("%d distinct effects (%v), want 1", len(fx.done), fx.done)
	}
	for key, what := range fx.done {
		if !strings.HasPrefix(key, "ussd:test:fx:+254712345678:") || !strings.Contains(what, "details 1001") {
			t.Fatalf("effect %q under key %q", what, key)
		}
	}
}
