package main

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
)

// inbound posts one incoming SMS as Africa's Talking would.
func (p *payEnv) inbound(form url.Values) (int, string) {
	return p.postForm("/sms/africastalking/inbound?token="+testToken, form)
}

// raceInbound delivers the same text (one AT id) n times at once and
// fails unless every delivery is acknowledged.
func raceInbound(t *testing.T, p *payEnv, n int, id, phone, text string) {
	t.Helper()
	form := atfake.IncomingSMSForm(id, phone, "22222", text)
	var wg sync.WaitGroup
	codes := make(chan string, n)
	start := make(chan struct{})
	for k := 0; k < n; k++ {
		wg.Go(func() {
			<-start
			if code, body := p.inbound(form); code != 200 {
				codes <- fmt.Sprintf("%d %s", code, body)
			}
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	for c := range codes {
		t.Fatalf("a duplicate delivery of %q was refused: %s", text, c)
	}
}

// TestSMSDuplicateInboundRace: Africa's Talking delivers one text many
// times at once (retries racing the first delivery), to the gateway on
// the real Postgres and Redis as on the embedded backends: an INVOICE
// text makes one invoice and one reply, a PAY text one prompt and one
// reply, and the payment one receipt.
func TestSMSDuplicateInboundRace(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_SMS_IN_RATE"] = "0" // the racers come from one phone
			p := newSMSEnv(t, env).payEnv   // SMS routes need a provider: the fake AT
			const racers = 12
			phone := "+254708374100" // the Daraja fake pays phones ending 00
			raceInbound(t, p, racers, "race-invoice", phone, "INVOICE 4001 12345")
			invs, err := p.g.payments.InvoicesByPhone(t.Context(), huduma.MSISDN(phone), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(invs) != 1 {
				t.Fatalf("%d invoices from one text delivered %d times, want 1", len(invs), racers)
			}
			n := invs[0].Number
			replies := p.messagesOf(huduma.MSISDN(phone), huduma.MessageReply)
			if len(replies) != 1 || !strings.Contains(replies[0].Body, string(n)) {
				t.Fatalf("replies to one text: %v, want one naming %s", replies, n)
			}

			raceInbound(t, p, racers, "race-pay", phone, "PAY "+string(n))
			p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
			p.drain() // a second prompt, if there were one, has reached Daraja now
			if got := len(p.pushesFor(n)); got != 1 {
				t.Fatalf("%d prompts from one PAY text delivered %d times, want 1", got, racers)
			}
			if got := len(p.messagesOf(huduma.MSISDN(phone), huduma.MessageReply)); got != 2 {
				t.Fatalf("%d replies to two texts, want 2", got)
			}
			if got := p.receipts(huduma.MSISDN(phone)); got != 1 {
				t.Fatalf("%d receipts, want 1", got)
			}
			// Late repeats, after the answers went out, change nothing.
			for _, id := range []string{"race-invoice", "race-pay"} {
				if code, _ := p.inbound(atfake.IncomingSMSForm(id, phone, "22222", "INVOICE 4001 12345")); code != 200 {
					t.Fatalf("late repeat: %d", code)
				}
			}
			if got := len(p.messagesOf(huduma.MSISDN(phone), huduma.MessageReply)); got != 2 {
				t.Fatalf("late repeats added replies: %d", got)
			}
			if invs, _ := p.g.payments.InvoicesByPhone(t.Context(), huduma.MSISDN(phone), 0, 10); len(invs) != 1 {
				t.Fatalf("late repeats added invoices: %d", len(invs))
			}
		})
	}
}
