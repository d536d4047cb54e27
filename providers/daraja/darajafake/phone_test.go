package darajafake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

const passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

// gateway stands in for Huduma's callback routes: it records every STK
// callback and C2B post, and answers validations as told.
type gateway struct {
	mu           sync.Mutex
	callbacks    []huduma.STKResult
	validations  []daraja.C2B
	confirms     []daraja.C2B
	reject       map[string]string // account → validation ResultCode
	confirmFails int               // confirmations to answer 500 first
	srv          *httptest.Server
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{reject: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /stk", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		res, err := daraja.DecodeSTKCallback(b)
		if err != nil {
			t.Errorf("callback the gateway cannot read: %v %s", err, b)
		}
		g.mu.Lock()
		g.callbacks = append(g.callbacks, res)
		g.mu.Unlock()
		w.Write(daraja.Ack())
	})
	c2b := func(confirm bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			c, err := daraja.DecodeC2B(b)
			if err != nil {
				t.Errorf("c2b the gateway cannot read: %v %s", err, b)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if !confirm {
				g.validations = append(g.validations, c)
				if code := g.reject[c.BillRefNumber]; code != "" {
					w.Write(daraja.C2BReject(code))
					return
				}
				w.Write(daraja.C2BAccept())
				return
			}
			g.confirms = append(g.confirms, c)
			if g.confirmFails > 0 {
				g.confirmFails--
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Write(daraja.Ack())
		}
	}
	mux.HandleFunc("POST /validation", c2b(false))
	mux.HandleFunc("POST /confirmation", c2b(true))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// waitCallbacks polls until n callbacks came and returns them.
func (g *gateway) waitCallbacks(t *testing.T, n int) []huduma.STKResult {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		got := append([]huduma.STKResult(nil), g.callbacks...)
		g.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callbacks after 5s, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, g *gateway, opts darajafake.Options) (*darajafake.Fake, *daraja.Client) {
	t.Helper()
	opts.ConsumerKey, opts.ConsumerSecret, opts.Passkey = "key", "secret", passkey
	opts.ValidationURL, opts.ConfirmationURL = g.srv.URL+"/validation", g.srv.URL+"/confirmation"
	f, err := darajafake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := daraja.New(daraja.Config{BaseURL: f.URL(), ConsumerKey: "key", ConsumerSecret: "secret", Passkey: passkey, ShortCode: "174379",
		CallbackURL: g.srv.URL + "/stk", Timeout: 2 * time.Second, Backoff: 10 * time.Millisecond}, &http.Client{}, slog.New(slog.DiscardHandler))
	return f, c
}

func pushTo(t *testing.T, c *daraja.Client, phone huduma.MSISDN) string {
	t.Helper()
	res, err := c.StkPush(context.Background(), huduma.STKPush{Phone: phone, Amount: 55, Reference: "1234567894", Description: "Birth cert"})
	if err != nil {
		t.Fatal(err)
	}
	return res.CheckoutRequestID
}

// TestInteractivePrompts: a prompt to a phone a person holds waits for
// them, whatever its last two digits: the right PIN pays, a wrong one
// fails (2001), Cancel cancels (1032), silence times out (1037); each is
// called back once, and the status query says "being processed" until
// then. A phone nobody holds keeps the suffix table.
func TestInteractivePrompts(t *testing.T) {
	g := newGateway(t)
	f, c := start(t, g, darajafake.Options{Interactive: true, PromptTimeout: 400 * time.Millisecond, CallbackDelay: 50 * time.Millisecond})
	ctx := context.Background()

	// Nobody holds +254712345601: its suffix (01) cancels, at once.
	pushTo(t, c, "+254712345601")
	if got := g.waitCallbacks(t, 1); got[0].ResultCode != "1032" {
		t.Fatalf("suffix outcome: %+v", got[0])
	}

	// Held, a phone ending 07 (whose suffix refuses the push) gets its
	// prompt, and it waits.
	const held = "254712345607"
	if ps := f.Hold(held); len(ps) != 0 {
		t.Fatalf("prompts before any push: %+v", ps)
	}
	checkout := pushTo(t, c, "+"+held)
	ps := f.Hold(held)
	if len(ps) != 1 || ps[0].Checkout != checkout || ps[0].Amount != 55 || ps[0].Account != "1234567894" || ps[0].Business != "174379" ||
		time.Until(ps[0].Expires) <= 0 {
		t.Fatalf("waiting prompts: %+v", ps)
	}
	if q, err := c.StkQuery(ctx, checkout); err != nil || !q.Pending {
		t.Fatalf("query of a waiting prompt: %+v %v", q, err)
	}
	if _, err := f.Answer("254712345600", checkout, darajafake.Answer{PIN: darajafake.DefaultPIN}); !errors.Is(err, darajafake.ErrNoPrompt) {
		t.Fatalf("another phone answered: %v", err)
	}
	out, err := f.Answer(held, checkout, darajafake.Answer{PIN: darajafake.DefaultPIN})
	if err != nil || out.Code != "0" {
		t.Fatalf("the right PIN: %+v %v", out, err)
	}
	got := g.waitCallbacks(t, 2)[1]
	if got.CheckoutRequestID != checkout || got.ResultCode != "0" || got.Amount != 55 || !strings.HasPrefix(got.Receipt, "SIM") {
		t.Fatalf("paid callback %+v", got)
	}
	if _, err := f.Answer(held, checkout, darajafake.Answer{Cancel: true}); !errors.Is(err, darajafake.ErrAnswered) {
		t.Fatalf("a second answer: %v", err)
	}
	if q, err := c.StkQuery(ctx, checkout); err != nil || q.Pending || q.ResultCode != "0" {
		t.Fatalf("query after the answer: %+v %v", q, err)
	}
	if len(f.Hold(held)) != 0 {
		t.Fatal("an answered prompt still waits")
	}
	if tx := f.Transactions(); len(tx) != 1 || tx[0].ID != got.Receipt || tx[0].Amount != 55 {
		t.Fatalf("the paid prompt among the paybill's transactions: %+v", tx)
	}

	for _, tc := range []struct {
		answer *darajafake.Answer
		code   string
	}{{&darajafake.Answer{PIN: "9999"}, "2001"}, {&darajafake.Answer{Cancel: true}, "1032"}, {nil, "1037"}} {
		n := len(g.waitCallbacks(t, 0))
		checkout := pushTo(t, c, "+"+held)
		if tc.answer != nil {
			if out, err := f.Answer(held, checkout, *tc.answer); err != nil || out.Code != tc.code {
				t.Fatalf("answer %+v: %+v %v", tc.answer, out, err)
			}
		}
		got := g.waitCallbacks(t, n+1)[n]
		if got.CheckoutRequestID != checkout || got.ResultCode != tc.code {
			t.Fatalf("answer %+v: callback %+v, want %s", tc.answer, got, tc.code)
		}
		if tc.answer == nil {
			if _, err := f.Answer(held, checkout, darajafake.Answer{PIN: darajafake.DefaultPIN}); !errors.Is(err, darajafake.ErrAnswered) {
				t.Fatalf("an answer after the timeout: %v", err)
			}
		}
	}
	if len(f.Transactions()) != 1 {
		t.Fatalf("unpaid prompts among the transactions: %+v", f.Transactions())
	}
}

// TestInteractivePromptAnswersRace: many answers to one prompt at once,
// with its timeout due at the same moment: exactly one decides it, and
// the gateway hears of it once.
func TestInteractivePromptAnswersRace(t *testing.T) {
	for round := 0; round < 5; round++ {
		g := newGateway(t)
		f, c := start(t, g, darajafake.Options{Interactive: true, PromptTimeout: 150 * time.Millisecond})
		const held = "254712345600"
		f.Hold(held)
		checkout := pushTo(t, c, "+"+held)
		var wg sync.WaitGroup
		var mu sync.Mutex
		decided, answered := 0, 0
		startAt := time.Now().Add(140 * time.Millisecond)
		for i := 0; i < 20; i++ {
			wg.Go(func() {
				time.Sleep(time.Until(startAt))
				a := darajafake.Answer{PIN: darajafake.DefaultPIN, Cancel: i%2 == 0}
				_, err := f.Answer(held, checkout, a)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					decided++
				case errors.Is(err, darajafake.ErrAnswered):
					answered++
				default:
					t.Errorf("answer: %v", err)
				}
			})
		}
		wg.Wait()
		if decided > 1 || decided+answered != 20 {
			t.Fatalf("round %d: %d answers decided the prompt, %d were told it was answered", round, decided, answered)
		}
		got := g.waitCallbacks(t, 1)
		if got[0].CheckoutRequestID != checkout {
			t.Fatalf("callback %+v", got[0])
		}
		// Every later answer is refused, so nothing can send a second callback.
		if _, err := f.Answer(held, checkout, darajafake.Answer{Cancel: true}); !errors.Is(err, darajafake.ErrAnswered) {
			t.Fatalf("round %d: an answer after the decision: %v", round, err)
		}
		if q, err := c.StkQuery(context.Background(), checkout); err != nil || q.Pending || q.ResultCode != got[0].ResultCode {
			t.Fatalf("round %d: the query says %+v (%v), the callback %s", round, q, err, got[0].ResultCode)
		}
	}
}

// TestPayBill: a payment by hand posts the validation (when asked) and
// the confirmation as Daraja does, in a body the gateway's decoder reads;
// a refused validation moves no money; the payer's number is masked
// unless asked otherwise; a failing confirmation is posted again, same
// transaction; bad input is refused before anything is posted.
func TestPayBill(t *testing.T) {
	g := newGateway(t)
	g.reject["no-such"] = daraja.C2BInvalidAccount
	f, _ := start(t, g, darajafake.Options{Simulator: true, ShortCode: "222222"})
	ctx := context.Background()

	res, err := f.PayBill(ctx, darajafake.PaybillPayment{Phone: "254712345600", Account: "no-such", Amount: 300, Validate: true})
	if err != nil || res.Rejected != daraja.C2BInvalidAccount || res.Confirmed || len(g.confirms) != 0 || len(f.Transactions()) != 0 {
		t.Fatalf("a refused payment: %+v %v, confirmations %d, transactions %d", res, err, len(g.confirms), len(f.Transactions()))
	}
	res, err = f.PayBill(ctx, darajafake.PaybillPayment{Phone: "254712345600", Account: "no-such", Amount: 300})
	if err != nil || res.Rejected != "" || !res.Confirmed || !strings.HasPrefix(res.TransID, darajafake.SimulatedPrefix) {
		t.Fatalf("without validation: %+v %v", res, err)
	}
	c := g.confirms[0]
	if c.TransID != res.TransID || c.Amount != 300 || c.BillRefNumber != "no-such" || c.MSISDN != "2547 ***** 600" || c.BusinessShortCode != "222222" ||
		time.Since(c.TransTime) > time.Minute || len(g.validations) != 1 {
		t.Fatalf("confirmation %+v", c)
	}
	if tx := f.Transactions(); len(tx) != 1 || tx[0].ID != res.TransID || tx[0].Amount != 300 {
		t.Fatalf("transactions %+v", tx)
	}

	g.confirmFails = 2
	res, err = f.PayBill(ctx, darajafake.PaybillPayment{Phone: "254712345600", Account: "1234567894", Amount: 55, Validate: true, FullNumber: true})
	if err != nil || !res.Confirmed || len(g.confirms) != 4 || len(g.validations) != 2 {
		t.Fatalf("a confirmation that failed twice: %+v %v (%d confirmations)", res, err, len(g.confirms))
	}
	for _, c := range g.confirms[1:] {
		if c.TransID != res.TransID || c.MSISDN != "254712345600" {
			t.Fatalf("retried confirmation %+v", c)
		}
	}

	for _, bad := range []darajafake.PaybillPayment{
		{Phone: "0712345600", Account: "a", Amount: 1}, {Phone: "254712345600", Account: "", Amount: 1},
		{Phone: "254712345600", Account: strings.Repeat("a", 21), Amount: 1}, {Phone: "254712345600", Account: "a", Amount: 0},
		{Phone: "254712345600", Account: "a", Amount: 250_001},
	} {
		if _, err := f.PayBill(ctx, bad); err == nil {
			t.Errorf("%+v was taken", bad)
		}
	}
	if len(g.confirms) != 4 || len(f.Transactions()) != 2 {
		t.Fatalf("bad input was posted: %d confirmations, %d transactions", len(g.confirms), len(f.Transactions()))
	}
	b, _ := json.Marshal(g.confirms)
	if strings.Contains(string(b), passkey) {
		t.Fatal("a credential in a C2B body")
	}
}
