package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
	"github.com/huduma-ke/huduma/texts"
)

// simClock is the one time a simulation's store, worker, breaker and
// Daraja read, so an outage's minutes run in milliseconds.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outageDaraja answers every call with an outage (what the Daraja client
// returns after its own retries of a 500) while down says so, and accepts
// pushes otherwise, recording when each invoice was pushed.
type outageDaraja struct {
	now  func() time.Time
	down func(time.Time) bool

	mu     sync.Mutex
	pushes map[string][]time.Time
	calls  int
}

var errHTTP500 = fmt.Errorf("daraja: HTTP 500: %w", providers.ErrOutage)

func (d *outageDaraja) StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.down(d.now()) {
		return huduma.STKPushResult{}, errHTTP500
	}
	d.pushes[p.Reference] = append(d.pushes[p.Reference], d.now())
	return huduma.STKPushResult{CheckoutRequestID: fmt.Sprintf("ws_CO_%s_%d", p.Reference, len(d.pushes[p.Reference])), MerchantRequestID: "m"}, nil
}

func (d *outageDaraja) StkQuery(ctx context.Context, id string) (huduma.STKResult, error) {
	if d.down(d.now()) {
		return huduma.STKResult{}, errHTTP500
	}
	return huduma.STKResult{CheckoutRequestID: id, Pending: true}, nil
}

func (d *outageDaraja) pushed(ref huduma.InvoiceNumber) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.pushes[string(ref)]...)
}

// simInvoice is invoice n of a simulation, ordered at now by its own
// phone, in English or Kiswahili by turns.
func simInvoice(n int, now time.Time) huduma.Invoice {
	body := fmt.Sprintf("%09d", 200000000+n)
	lang := huduma.English
	if n%2 == 1 {
		lang = huduma.Kiswahili
	}
	return huduma.Invoice{Number: huduma.InvoiceNumber(body + string(huduma.DammDigit(body))), ServiceCode: 1001, ServiceName: "Passport",
		Phone: huduma.MSISDN(fmt.Sprintf("+254712%06d", n)), Fee: 4550, ConvenienceFee: 50, Total: 4600, Status: huduma.InvoicePending,
		Language: lang, CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
}

// runDuePrompts claims every due prompt and query and runs them one by one, as
// the worker's pool would, and reports how many ran.
func runDuePrompts(t *testing.T, s *Service, l ledgertest.Ledger) int {
	t.Helper()
	jobs, err := l.Claim(context.Background(), 1000, time.Minute, huduma.JobPush, huduma.JobQuery)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		s.runJob(context.Background(), j)
	}
	return len(jobs)
}

// TestDarajaOutageNeverDropsAPromptInSilence simulates, with the
// production settings (the breaker opening after 5 failures for 30 s,
// pushes retried after 4, 8, 16 and 32 s, MPESA_STK_DELAY 2 s, the
// 3-minute PushWindow), an order every 2 s for the whole run and Daraja
// answering every call with a 500 for 60 s, then for 5 minutes. Every
// invoice ends with its prompt at Daraja or with exactly one text telling
// the payer how to pay instead, never both and never neither. A 60 s
// outage costs no prompt at all (the jobs wait for the breaker without
// spending tries); a 5-minute one texts the payers whose prompt would
// have come more than 3 minutes late, and pushes no prompt that late.
func TestDarajaOutageNeverDropsAPromptInSilence(t *testing.T) {
	for _, outage := range []time.Duration{time.Minute, 5 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			ctx := context.Background()
			c := &simClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			start := c.now()
			downFrom, downTo := start.Add(30*time.Second), start.Add(30*time.Second+outage)
			d := &outageDaraja{now: c.now, down: func(at time.Time) bool { return !at.Before(downFrom) && at.Before(downTo) },
				pushes: map[string][]time.Time{}}
			l := ledgertest.New(sqlitetest.Open(t)).WithClock(c.now)
			cfg := Config{StkDelay: 2 * time.Second, QueryAfter: time.Minute, Paybill: "222222", ServiceCode: "*2222#"}
			s := New(l, nil, WithBreaker(d, breaker.New("daraja", 5, 30*time.Second).WithClock(c.now)), cfg, slog.New(slog.DiscardHandler))
			s.now = c.now

			var invoices []huduma.Invoice
			loadEnd := downTo.Add(time.Minute)
			for next := start; ; c.add(250 * time.Millisecond) {
				if now := c.now(); !now.Before(next) && now.Before(loadEnd) {
					inv := simInvoice(len(invoices), now)
					if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: now.Add(cfg.StkDelay)}}); err != nil {
						t.Fatal(err)
					}
					invoices = append(invoices, inv)
					next = next.Add(2 * time.Second)
				}
				runDuePrompts(t, s, l)
				if left, err := l.PendingJobs(ctx, huduma.JobPush); err != nil {
					t.Fatal(err)
				} else if left == 0 && !c.now().Before(loadEnd) {
					break
				}
				if c.now().Sub(loadEnd) > time.Hour {
					t.Fatalf("push jobs still pending an hour after the load ended")
				}
			}

			window := s.cfg.PushWindow
			prompted, texted := 0, 0
			for _, inv := range invoices {
				pushes := d.pushed(inv.Number)
				msgs, err := l.Messages(ctx, inv.Phone, 10)
				if err != nil {
					t.Fatal(err)
				}
				want := texts.PromptUnsentSMS(inv, inv.Phone, texts.HowToPay{Paybill: "222222"}, "*2222#")
				sms := 0
				for _, m := range msgs {
					if m.Kind == huduma.MessagePayment && m.Body == want {
						sms++
					}
				}
				switch {
				case len(pushes) == 1 && sms == 0:
					prompted++
					if late := pushes[0].Sub(inv.CreatedAt.Add(cfg.StkDelay)); late > window {
						t.Errorf("invoice %s: prompt pushed %s after it fell due, past the %s window", inv.Number, late, window)
					}
				case len(pushes) == 0 && sms == 1:
					texted++
				default:
					t.Errorf("invoice %s (ordered %s into the run): %d prompts and %d texts, want one of the two",
						inv.Number, inv.CreatedAt.Sub(start), len(pushes), sms)
				}
			}
			t.Logf("%s outage: %d invoices, %d prompted, %d texted; %d calls reached the breaker-guarded client", outage, len(invoices), prompted, texted, d.calls)
			if outage == time.Minute && texted != 0 {
				t.Errorf("a 60 s outage texted %d payers; every prompt should have waited it out", texted)
			}
			if outage == 5*time.Minute && (texted == 0 || prompted == 0) {
				t.Errorf("a 5-minute outage: %d prompted, %d texted; want both (orders early in it are too late, late ones are not)", prompted, texted)
			}
		})
	}
}

// refusingLedger is the embedded ledger refusing to record accepted
// prompts, and, with jobsToo, to record the job's outcome as well.
type refusingLedger struct {
	ledgertest.Ledger
	jobsToo bool
}

var errRefused = errors.New("store refuses the write")

// Settle refuses to write a prompt's acceptance.
func (r refusingLedger) Settle(ctx context.Context, key huduma.LedgerKey, decide func(huduma.LedgerState) (huduma.Plan, error)) (huduma.Plan, error) {
	return r.Ledger.Settle(ctx, key, func(st huduma.LedgerState) (huduma.Plan, error) {
		p, err := decide(st)
		if err == nil && p.Outcome == "sent" {
			return p, errRefused
		}
		return p, err
	})
}

func (r refusingLedger) Retry(ctx context.Context, id int64, runAt time.Time, reason string, payload any) error {
	if r.jobsToo {
		return errRefused
	}
	return r.Ledger.Retry(ctx, id, runAt, reason, payload)
}

// TestAcceptedPromptIsNeverPushedAgain: when the store refuses to record
// a prompt Daraja accepted, the job retries the record, never the push,
// a bounded number of times, then stops and logs why, even when it cannot
// record its own retry either (the job then comes back after its lease,
// without its payload): one prompt, never a new prompt every second.
func TestAcceptedPromptIsNeverPushedAgain(t *testing.T) {
	for _, jobsToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("job record refused too=%v", jobsToo), func(t *testing.T) {
			ctx := context.Background()
			c := &simClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			d := &outageDaraja{now: c.now, down: func(time.Time) bool { return false }, pushes: map[string][]time.Time{}}
			base := ledgertest.New(sqlitetest.Open(t)).WithClock(c.now)
			var logs bytes.Buffer
			s := New(refusingLedger{base, jobsToo}, nil, d, Config{StkDelay: time.Second}, slog.New(slog.NewTextHandler(&logs, nil)))
			s.now = c.now
			inv := simInvoice(1, c.now())
			if _, _, err := base.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: c.now()}}); err != nil {
				t.Fatal(err)
			}
			runs := 0
			for i := 0; i < 600; i++ { // ten minutes
				jobs, err := base.Claim(ctx, 10, s.lease, huduma.JobPush)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range jobs {
					runs++
					s.runJob(ctx, j)
				}
				c.add(time.Second)
			}
			pushes := d.pushed(inv.Number)
			for i := 1; i < len(pushes); i++ {
				if gap := pushes[i].Sub(pushes[i-1]); gap < s.lease {
					t.Fatalf("pushes %s apart: %v", gap, pushes)
				}
			}
			if len(pushes) != 1 {
				t.Fatalf("%d pushes, want 1: the record is retried, not the push", len(pushes))
			}
			if n, _ := base.PendingJobs(ctx, huduma.JobPush); n != 0 {
				t.Fatalf("the push job is still pending after %d runs", runs)
			}
			if runs > recordTries+1 {
				t.Fatalf("the job ran %d times, want at most %d", runs, recordTries+1)
			}
			if !strings.Contains(logs.String(), "store refused to record it; stopped trying") {
				t.Fatalf("no log says why the job stopped:\n%s", logs.String())
			}
			if msgs, _ := base.Messages(ctx, inv.Phone, 10); len(msgs) != 0 {
				t.Fatalf("the payer, who got the prompt, was texted: %+v", msgs)
			}
			t.Logf("%d pushes in %d runs over ten minutes", len(pushes), runs)
		})
	}
}
