package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// hopAs posts one AT hop for (session, phone) with the cumulative text.
func (p *payEnv) hopAs(session, phone, text string) string {
	p.t.Helper()
	_, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
		"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
	return body
}

// walk plays a session's hops one by one, up to the last input.
func (p *payEnv) walk(session, phone string, inputs ...string) {
	p.t.Helper()
	for i := 0; i <= len(inputs); i++ {
		if body := p.hopAs(session, phone, strings.Join(inputs[:i], "*")); !strings.HasPrefix(body, "CON ") {
			p.t.Fatalf("hop %v: %q", inputs[:i], body)
		}
	}
}

// race sends n identical hops at once and returns their screens.
func (p *payEnv) race(n int, session, phone, text string) []string {
	screens := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range screens {
		wg.Go(func() {
			<-start
			screens[i] = p.hopAs(session, phone, text)
		})
	}
	close(start)
	wg.Wait()
	return screens
}

func (p *payEnv) messagesOf(phone huduma.MSISDN, kind huduma.MessageKind) []huduma.Message {
	p.t.Helper()
	msgs, err := p.g.store.Messages(context.Background(), phone, 100)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []huduma.Message
	for _, m := range msgs {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestIdenticalHopsRace: eight identical concurrent hops, five rounds,
// against the real Postgres and Redis as against the embedded backends:
// "SMS me details" queues one SMS a round, and "Pay from this phone"
// makes one invoice, one invoice SMS and one prompt, and every racing hop
// shows the same screen.
func TestIdenticalHopsRace(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_HOP_RATE"] = "0" // the races come from one phone
			p := newPayEnv(t, env)
			const rounds, racers = 5, 8
			phone := randomPhone(t)
			for r := 0; r < rounds; r++ {
				session := fmt.Sprintf("race_details_%d_%d", r, time.Now().UnixNano())
				p.walk(session, phone, "1", "3", "4001")
				screens := p.race(racers, session, phone, "1*3*4001*2")
				for _, s := range screens {
					if s != screens[0] || !strings.Contains(s, "sent the service details") {
						t.Fatalf("round %d: racing hops saw %q and %q", r, screens[0], s)
					}
				}
			}
			if got := len(p.messagesOf(huduma.MSISDN(phone), huduma.MessageReply)); got != rounds {
				t.Fatalf("%d service-detail SMS after %d rounds of %d racing hops, want %d", got, rounds, racers, rounds)
			}

			buyer := randomPhone(t)
			session := fmt.Sprintf("race_order_%d", time.Now().UnixNano())
			p.walk(session, buyer, "1", "3", "4001", "1", "12345")
			screens := p.race(racers, session, buyer, "1*3*4001*1*12345*1")
			for _, s := range screens {
				if s != screens[0] || !strings.HasPrefix(s, "END Invoice ") {
					t.Fatalf("racing orders saw %q and %q", screens[0], s)
				}
			}
			invs, err := p.g.payments.InvoicesByPhone(context.Background(), huduma.MSISDN(buyer), 0, 10)
			if err != nil || len(invs) != 1 {
				t.Fatalf("%d invoices from %d racing orders (%v), want 1", len(invs), racers, err)
			}
			if got := len(p.messagesOf(huduma.MSISDN(buyer), huduma.MessageInvoice)); got != 1 {
				t.Fatalf("%d invoice SMS, want 1", got)
			}
			if n, _ := p.g.store.PendingJobs(context.Background(), huduma.JobPush); n > 1 {
				t.Fatalf("%d prompts queued, want 1", n)
			}
			p.drain()
			if got := len(p.pushesFor(invs[0].Number)); got != 1 {
				t.Fatalf("%d prompts reached Daraja, want 1", got)
			}
		})
	}
}

// TestSessionBelongsToItsPhone: a hop carrying phone B with phone A's
// session id never continues A's session: B starts its own, sees none of
// A's invoices, and an order from B makes B's own invoice.
func TestSessionBelongsToItsPhone(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			a, b := randomPhone(t), randomPhone(t)
			session := fmt.Sprintf("shared_%d", time.Now().UnixNano())
			p.walk(session, a, "1", "3", "4001", "1", "12345")
			endA := p.hopAs(session, a, "1*3*4001*1*12345*1")
			if !strings.HasPrefix(endA, "END Invoice ") {
				t.Fatalf("A's order: %q", endA)
			}
			// B replays the same text on A's session id: a fresh session
			// of B's own, so the whole path runs again for B.
			endB := p.hopAs(session, b, "1*3*4001*1*12345*1")
			if !strings.HasPrefix(endB, "END Invoice ") || endB == endA {
				t.Fatalf("B on A's session id: %q (A had %q)", endB, endA)
			}
			// B's "My invoices" lists B's invoice only.
			other := fmt.Sprintf("shared_list_%d", time.Now().UnixNano())
			p.hopAs(other, b, "")
			list := p.hopAs(other, b, "4")
			numberA := invoiceRE.FindStringSubmatch(endA)[1]
			numberB := invoiceRE.FindStringSubmatch(endB)[1]
			if strings.Contains(list, numberA) || !strings.Contains(list, numberB) {
				t.Fatalf("B's invoices: %q (A's is %s, B's %s)", list, numberA, numberB)
			}
			for phone, want := range map[string]string{a: numberA, b: numberB} {
				invs, err := p.g.payments.InvoicesByPhone(context.Background(), huduma.MSISDN(phone), 0, 10)
				if err != nil || len(invs) != 1 || string(invs[0].Number) != want {
					t.Fatalf("invoices of %s: %+v %v, want just %s", huduma.MaskPhone(phone), invs, err, want)
				}
			}
		})
	}
}
