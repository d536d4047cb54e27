package main

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/faultproxy"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// viaProxy points a database or Redis URL at a fault proxy in front of it.
func viaProxy(t *testing.T, raw string) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"postgres": "5432", "postgresql": "5432", "redis": "6379"}[u.Scheme]
	}
	p, err := faultproxy.Start(u.Hostname() + ":" + port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	return u.String(), p
}

// TestOutages cuts Redis, then Postgres, under a running gateway: every
// hop gets a clean END quickly, a payment callback that cannot be stored
// gets a non-2xx so Daraja retries, and the gateway recovers by itself
// when the link comes back. The 1 s bound is the requirement
// for an outage, not a performance target.
func TestOutages(t *testing.T) {
	dbURL, pg := viaProxy(t, freshSchema(t))
	redisURL, rd := viaProxy(t, testenv.RedisURL(t))
	p := newPayEnv(t, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "outage-test-otp-secret"})
	const phone = "+254708374100"

	hop := func(session, text string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		code, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
		if code != 200 {
			t.Fatalf("hop %q: HTTP %d %s", text, code, body)
		}
		return body, time.Since(start)
	}
	busy := func(what, session, text string) {
		t.Helper()
		body, took := hop(session, text)
		if !strings.HasPrefix(body, "END ") || !strings.Contains(body, "busy") {
			t.Fatalf("%s: %q, want the busy END", what, body)
		}
		if took > time.Second {
			t.Fatalf("%s: the busy END took %s, want under 1s", what, took)
		}
	}
	// recovered waits until a hop that needs the backend works again.
	recovered := func(what, text string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			body, _ := hop("after-"+what+time.Now().Format("150405.000"), text)
			if strings.HasPrefix(body, "CON ") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no recovery after %s came back: %q", what, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if body, _ := hop("s1", ""); !strings.HasPrefix(body, "CON ") {
		t.Fatalf("before the outage: %q", body)
	}

	rd.Cut()
	busy("redis down, new session", "s2", "")
	busy("redis down, session in flight", "s1", "1")
	rd.Restore()
	recovered("redis", "")

	// An invoice to settle while Postgres is away.
	n, _ := p.order(phone)
	deadline := time.Now().Add(5 * time.Second)
	for len(p.pushesFor(n)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	pushes := p.pushesFor(n)
	if len(pushes) != 1 {
		t.Fatalf("%d pushes", len(pushes))
	}
	// Let the fake's own callback land first, or it would race the cut.
	p.waitStatus(n, huduma.InvoicePaid, 5*time.Second)

	pg.Cut()
	// Search is answered from memory, and a start reads the language from
	// Redis; listing invoices needs the database.
	if body, _ := hop("s3", "1*1*passport"); !strings.Contains(body, "passport") {
		t.Fatalf("search with postgres down: %q", body)
	}
	busy("postgres down, my invoices", "s4", "4")
	cb := darajafake.CallbackBody("m", pushes[0].Checkout, darajafake.Outcomes["00"], "4600", "254708374100", time.Now())
	if code, _ := p.post("/payments/stk/callback?token="+testToken, cb); code < 500 {
		t.Fatalf("a callback that cannot be stored got %d, want 5xx so Daraja retries", code)
	}
	pg.Restore()
	recovered("postgres", "4") // my invoices reads Postgres; the main menu does not
	if code, _ := p.post("/payments/stk/callback?token="+testToken, cb); code != 200 {
		t.Fatalf("the retried callback after recovery got %d", code)
	}
	if got := p.receipts(phone); got != 1 {
		t.Fatalf("%d receipts after the outage and a retried callback, want 1", got)
	}
}

// TestSlowBackendHitsDeadline: with Postgres answering slowly, the hop
// that creates the invoice cannot finish in time. The caller gets an END
// saying the answer comes by SMS; the work finishes in the background:
// the invoice exists and its screen and SMS reach the phone.
func TestSlowBackendHitsDeadline(t *testing.T) {
	dbURL, pg := viaProxy(t, freshSchema(t))
	p := newPayEnv(t, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "slow-test-otp-secret",
		"HUDUMA_HOP_DEADLINE": "400ms"})
	const phone = "+254708374100"
	session := "slow_" + time.Now().Format("150405.000000")
	path := []string{"1", "3", "1001", "1", "12345678", "01011990"}
	for i := 0; i <= len(path); i++ {
		if _, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(path[:i], "*")}}); !strings.HasPrefix(body, "CON ") {
			t.Fatalf("step %d: %q", i, body)
		}
	}
	pg.Slow(250 * time.Millisecond)
	start := time.Now()
	_, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
		"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(append(path, "1"), "*")}})
	took := time.Since(start)
	if !strings.HasPrefix(body, "END ") || !strings.Contains(body, "by SMS") {
		t.Fatalf("slow hop: %q", body)
	}
	if took > time.Second {
		t.Fatalf("the late END took %s with a 400ms deadline", took)
	}
	pg.Slow(0)
	// The screen the caller missed arrives by SMS, with the invoice.
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs, err := p.g.store.Messages(context.Background(), phone, 20)
		if err != nil {
			t.Fatal(err)
		}
		var late, invoice bool
		for _, m := range msgs {
			late = late || (m.Kind == huduma.MessageReply && strings.HasPrefix(m.Body, "Invoice "))
			invoice = invoice || m.Kind == huduma.MessageInvoice
		}
		if late && invoice {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no late SMS with the invoice: %+v", msgs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPostgresStallSparesCatalogHops: with Postgres stalled, hops that
// need only the session and the catalog answer as usual (Redis and
// memory); a hop that needs the database is late, and however many of a
// session's hops are late, it gets one SMS.
func TestPostgresStallSparesCatalogHops(t *testing.T) {
	dbURL, pg := viaProxy(t, freshSchema(t))
	p := newPayEnv(t, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "stall-test-otp-secret",
		"HUDUMA_HOP_DEADLINE": "500ms"})
	phone := randomPhone(t)
	hop := func(session, text string) string {
		t.Helper()
		_, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
		return body
	}
	// Open enough pool connections first: a connection opened during the
	// stall would time out in its handshake, and this test is about hops,
	// not connects.
	db := p.g.store.SQL()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Go(func() { db.ExecContext(context.Background(), "SELECT pg_sleep(0.2)") })
	}
	wg.Wait()
	pg.Slow(3 * time.Second)
	defer pg.Slow(0)
	session := "stall_" + time.Now().Format("150405.000000")
	for _, step := range []struct{ text, want string }{
		{"", "1. Find a service"}, {"1", "1. Search by name"}, {"1*1", "Enter a service name"},
		{"1*1*passport", "Results for 'passport'"}, {"1*1*passport*1", "Fee: KES"}, {"1*1*passport*1*0*0*0*2", "Choose a category"},
		{"1*1*passport*1*0*0*0*2*1", "0. Back"},
	} {
		if body := hop(session, step.text); !strings.HasPrefix(body, "CON ") || !strings.Contains(body, step.want) {
			t.Fatalf("catalog hop %q with Postgres stalled: %q, want a CON with %q", step.text, body, step.want)
		}
	}
	// My invoices needs the database: late, and retried by the aggregator
	// twice more, still one SMS for the session.
	late := "stall_late_" + time.Now().Format("150405.000000")
	if body := hop(late, ""); !strings.HasPrefix(body, "CON ") {
		t.Fatalf("main menu: %q", body)
	}
	for i := 0; i < 3; i++ {
		if body := hop(late, "4"); !strings.HasPrefix(body, "END ") || !strings.Contains(body, "by SMS") {
			t.Fatalf("database hop %d with Postgres stalled: %q, want the late END", i, body)
		}
	}
	pg.Slow(0)
	var replies int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		msgs, err := p.g.store.Messages(context.Background(), huduma.MSISDN(phone), 20)
		if err != nil {
			continue
		}
		replies = 0
		for _, m := range msgs {
			if m.Kind == huduma.MessageReply && strings.Contains(m.Body, "My invoices") {
				replies++
			}
		}
		if replies > 0 {
			time.Sleep(time.Second) // let any second copy land
			break
		}
	}
	msgs, _ := p.g.store.Messages(context.Background(), huduma.MSISDN(phone), 20)
	replies = 0
	for _, m := range msgs {
		if m.Kind == huduma.MessageReply {
			replies++
		}
	}
	if replies != 1 {
		t.Fatalf("%d late SMS for one session, want exactly 1: %+v", replies, msgs)
	}
}
