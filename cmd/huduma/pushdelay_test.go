package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
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
	mp := guardedMpesa{b, client}
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
		if _, err := mp.StkQuery(ctx, res.CheckoutRequestID); !daraja.Outage(err) {
			t.Fatalf("outage call %d: %v", i, err)
		}
	}
	if _, err := mp.StkQuery(ctx, res.CheckoutRequestID); !errors.Is(err, breaker.ErrOpen) || !strings.Contains(b.State(), "open") {
		t.Fatalf("after five outages: %v, breaker %s; want open", err, b.State())
	}
}
