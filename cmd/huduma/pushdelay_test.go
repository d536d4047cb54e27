package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// TestBreakerCountsOnlyOutages: the breaker around Daraja stays closed
// through answers that mean "not yet" (a prompt being processed, a
// subscriber with a transaction in process), and opens on a real outage.
func TestBreakerCountsOnlyOutages(t *testing.T) {
	fake, err := darajafake.Start(darajafake.Options{ConsumerKey: "key", ConsumerSecret: "secret", Passkey: testPasskey})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	client := daraja.New(daraja.Config{BaseURL: fake.URL(), ConsumerKey: "key", ConsumerSecret: "secret", Passkey: testPasskey,
		ShortCode: "174379", CallbackURL: "http://127.0.0.1:1/cb", Backoff: time.Millisecond}, &http.Client{}, testLogger())
	b := breaker.New("daraja", 5, time.Minute)
	mp := payments.WithBreaker(client, b)
	ctx := context.Background()
	undecided := huduma.STKPush{Phone: "+254708374108", Amount: 10, Reference: "1234567890"}
	res, err := mp.StkPush(ctx, undecided)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if q, err := mp.StkQuery(ctx, res.CheckoutRequestID); err != nil || !q.Pending {
			t.Fatalf("query %d: %+v %v, want pending", i, q, err)
		}
	}
	for i := 0; i < 8; i++ {
		fake.Fail(1, 500, `{"errorCode":"500.001.1001","errorMessage":"Unable to lock subscriber, a transaction is already in process for the current subscriber"}`)
		if _, err := mp.StkPush(ctx, undecided); !errors.Is(err, daraja.ErrInProgress) {
			t.Fatalf("locked subscriber %d: %v", i, err)
		}
	}
	if s := b.State(); s != "closed" {
		t.Fatalf("breaker %s after pending answers and locked subscribers, want closed", s)
	}
	fake.Fail(1000, 503, `upstream down`)
	for i := 0; i < 5; i++ {
		if _, err := mp.StkQuery(ctx, res.CheckoutRequestID); !errors.Is(err, providers.ErrOutage) {
			t.Fatalf("outage call %d: %v", i, err)
		}
	}
	if _, err := mp.StkQuery(ctx, res.CheckoutRequestID); !errors.Is(err, breaker.ErrOpen) || !strings.Contains(b.State(), "open") {
		t.Fatalf("after five outages: %v, breaker %s; want open", err, b.State())
	}
}

// TestPushOnTimeUnderLoad is the "done when": six people leave
// their prompts unanswered, their status queries fall due against a
// Daraja that takes 2 s per answer, and a seventh finishes a journey. Its
// prompt reaches Daraja within MPESA_STK_DELAY + 1 s of the END, and each
// undecided prompt costs one query (no retries of "being processed", no
// tight loop).
func TestPushOnTimeUnderLoad(t *testing.T) {
	const answer = 2 * time.Second
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			// Four workers: queries may hold two, fewer than are due, so
			// the prompt needs the capacity kept for prompts.
			env["MPESA_WORKERS"] = "4"
			p := newPayEnvWith(t, env, darajafake.Options{CallbackDelay: 200 * time.Millisecond, AnswerDelay: answer})
			var undecided []huduma.InvoiceNumber
			for i := 1; i <= 6; i++ {
				n, _ := p.order(fmt.Sprintf("+2547083%d4108", i)) // ends 08: never answered
				undecided = append(undecided, n)
			}
			// Wait until their queries are running (push 0.6 s after each
			// END, answered 2 s later, queried 1 s after that).
			for deadline := time.Now().Add(10 * time.Second); p.fake.Queries() < 2; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d status queries after 10 s, want the undecided prompts queried", p.fake.Queries())
				}
			}
			n, endAt := p.order("+254708374100")
			var pushes []darajafake.Push
			for deadline := endAt.Add(stkDelay + 5*time.Second); len(pushes) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				pushes = p.pushesFor(n)
			}
			if len(pushes) != 1 {
				t.Fatalf("%d pushes for the new invoice, want 1", len(pushes))
			}
			if late := pushes[0].At.Sub(endAt); late > stkDelay+time.Second || late < stkDelay-50*time.Millisecond {
				t.Fatalf("push reached Daraja %s after the END, want within %s..%s (queries so far: %d)", late, stkDelay, stkDelay+time.Second, p.fake.Queries())
			}
			p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
			for _, u := range undecided {
				if inv := p.invoice(u); inv.Status != huduma.InvoicePending {
					t.Fatalf("undecided invoice %s is %s, want pending", u, inv.Status)
				}
			}
			// Every undecided prompt is queried once here: the next query
			// is 20 s after the first, and "being processed" is never
			// asked again at once.
			for deadline := time.Now().Add(10 * time.Second); p.fake.Queries() < len(undecided); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d queries for %d undecided prompts", p.fake.Queries(), len(undecided))
				}
			}
			// Count once every query job is back to wait for its next
			// turn (none due, none running), not after a fixed sleep.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var busy int
				if err := p.g.store.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM jobs WHERE kind = 'stk_query' AND done_at IS NULL
					AND (locked_until IS NOT NULL OR run_at <= $1)`, time.Now().UnixMilli()).Scan(&busy); err != nil {
					t.Fatal(err)
				}
				if busy == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d query jobs still due or running", busy)
				}
			}
			if q := p.fake.Queries(); q != len(undecided) {
				t.Fatalf("%d status queries for %d undecided prompts, want one each", q, len(undecided))
			}
		})
	}
}
