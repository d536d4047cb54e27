package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

func testInvoice(number string, now time.Time) huduma.Invoice {
	body := number[:9]
	return huduma.Invoice{Number: huduma.InvoiceNumber(body + string(huduma.DammDigit(body))), ServiceCode: 1001, ServiceName: "Passport",
		Phone: "+254712345678", Fee: 4550, ConvenienceFee: 50, Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Fields: map[string]string{"id_number": "12345678"}}
}

// receipt texts receipts and nothing else.
var receipt = huduma.ReceiptFunc(func(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: "paid " + string(inv.Number)}
})

// runLedger checks the money tables on one backend.
func runLedger(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("InvoiceIdempotentWithMessageAndPush", func(t *testing.T) {
		l := ledgertest.New(open(t))
		now := time.Now()
		inv := testInvoice("100000001", now)
		n := huduma.InvoiceOrder{Invoice: inv, Key: "ussd:s1", Message: &huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "pay"},
			Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: now.Add(time.Hour)}}
		got, created, err := l.CreateInvoice(ctx, n)
		if err != nil || !created || got.Status != huduma.InvoicePending {
			t.Fatalf("create: %+v %v %v", got, created, err)
		}
		n.Invoice = testInvoice("100000002", now) // a retried hop draws another number...
		again, created, err := l.CreateInvoice(ctx, n)
		if err != nil || created || again.Number != inv.Number {
			t.Fatalf("retry with the same key made %s (created %v): %v", again.Number, created, err)
		}
		if msgs, _ := l.Messages(ctx, inv.Phone, 10); len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		if jobs, _ := l.PendingJobs(ctx, huduma.JobPush); jobs != 1 {
			t.Fatalf("%d push jobs, want 1", jobs)
		}
		stored, err := l.Invoice(ctx, inv.Number)
		if err != nil || stored.Total != 4600 || stored.Fields["id_number"] != "12345678" {
			t.Fatalf("stored %+v %v", stored, err)
		}
		if _, err := l.Invoice(ctx, "1234567890"); !errors.Is(err, huduma.ErrNotFound) {
			t.Fatalf("unknown invoice: %v", err)
		}
		bad := testInvoice("100000003", now)
		bad.Total = 1
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: bad}); err == nil {
			t.Fatal("an invoice whose total does not add up was stored")
		}
		dup := testInvoice("100000001", now)
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: dup}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("taken number: %v, want conflict", err)
		}
	})
	t.Run("RacingIdenticalInvoicesWriteOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		now := time.Now()
		const racers = 8
		var wg sync.WaitGroup
		numbers := make([]huduma.InvoiceNumber, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each racer draws its own number, as a retried hop does.
				inv := testInvoice(fmt.Sprintf("2000000%02d", i), now)
				got, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Key: "ussd:race",
					Message: &huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "pay " + string(inv.Number)},
					Push:    &huduma.PushPlan{Payer: inv.Phone, RunAt: now}})
				numbers[i], errs[i] = got.Number, err
			}()
		}
		wg.Wait()
		for i := range racers {
			if errs[i] != nil || numbers[i] != numbers[0] {
				t.Fatalf("racer %d got %q (%v), racer 0 %q", i, numbers[i], errs[i], numbers[0])
			}
		}
		if msgs, _ := l.Messages(ctx, "+254712345678", 10); len(msgs) != 1 || msgs[0].Body != "pay "+string(numbers[0]) {
			t.Fatalf("messages %+v, want the one invoice's", msgs)
		}
		jobs, err := l.Claim(ctx, 10, time.Minute, huduma.JobPush)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%d push jobs (%v), want 1", len(jobs), err)
		}
		var job huduma.PromptJob
		if err := json.Unmarshal(jobs[0].Payload, &job); err != nil {
			t.Fatal(err)
		}
		a, err := l.Attempt(ctx, job.AttemptID)
		if err != nil || a.Invoice != numbers[0] || a.Status != huduma.AttemptQueued {
			t.Fatalf("the push job's prompt %d: %+v %v", job.AttemptID, a, err)
		}
		trail, err := l.Audit(ctx, "invoice", string(numbers[0]))
		if err != nil || len(trail) != 1 || trail[0].Action != "created" {
			t.Fatalf("audit %+v %v, want one creation", trail, err)
		}
	})
	t.Run("PromptsSettleOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := testInvoice("100000011", time.Now())
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		a, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), ""); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("second prompt in flight: %v, want conflict", err)
		}
		if err := l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: "ws_CO_1", MerchantRequestID: "m1"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_nope", ResultCode: "0", Amount: 4600, Receipt: "R1"}, receipt); out != huduma.OutcomeUnknown {
			t.Fatalf("unknown checkout: %s", out)
		}
		if out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_1", ResultCode: "0", Amount: 4599, Receipt: "R1"}, receipt); out != huduma.OutcomeMismatch {
			t.Fatalf("wrong amount: %s", out)
		}
		for i, want := range []huduma.Outcome{huduma.OutcomePaid, huduma.OutcomeDuplicate, huduma.OutcomeDuplicate} {
			out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_1", ResultCode: "0", Amount: 4600, Receipt: "NLJ7RT61SV"}, receipt)
			if err != nil || out != want {
				t.Fatalf("settle #%d: %s %v, want %s", i, out, err, want)
			}
		}
		paid, _ := l.Invoice(ctx, inv.Number)
		if paid.Status != huduma.InvoicePaid || paid.MpesaReceipt != "NLJ7RT61SV" || paid.PaidAt == nil {
			t.Fatalf("paid invoice %+v", paid)
		}
		if msgs, _ := l.Messages(ctx, inv.Phone, 10); len(msgs) != 1 || msgs[0].Kind != huduma.MessageReceipt {
			t.Fatalf("receipts %+v", msgs)
		}
		if _, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), ""); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("prompt for a paid invoice: %v", err)
		}
		trail, _ := l.Audit(ctx, "invoice", string(inv.Number))
		var actions []string
		for _, e := range trail {
			actions = append(actions, e.Action)
		}
		if len(actions) < 3 || actions[0] != "created" || actions[len(actions)-1] != "paid" {
			t.Fatalf("audit trail %v", actions)
		}
	})
	t.Run("CallbacksThatLookWrongAreFlagged", func(t *testing.T) {
		l := ledgertest.New(open(t))
		prompt := func(number, checkout string) (huduma.Invoice, huduma.Attempt) {
			t.Helper()
			inv := testInvoice(number, time.Now())
			if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
				t.Fatal(err)
			}
			a, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: checkout}, time.Now()); err != nil {
				t.Fatal(err)
			}
			return inv, a
		}
		actions := func(inv huduma.Invoice) string {
			trail, _ := l.Audit(ctx, "invoice", string(inv.Number))
			var out []string
			for _, e := range trail {
				out = append(out, e.Action+" "+e.Detail)
			}
			return strings.Join(out, "\n")
		}
		first, _ := prompt("100000031", "ws_CO_31")
		if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_31", ResultCode: "0", Amount: 4600, Receipt: "RCPT31", Phone: "254712345678"}, receipt); out != huduma.OutcomePaid || err != nil {
			t.Fatalf("first payment: %s %v", out, err)
		}
		// A second invoice's callback with the first one's receipt: not
		// applied, the prompt left for the status query, and flagged.
		second, a2 := prompt("100000032", "ws_CO_32")
		if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_32", ResultCode: "0", Amount: 4600, Receipt: "RCPT31"}, receipt); out != huduma.OutcomeReceiptReused || err != nil {
			t.Fatalf("reused receipt: %s %v, want %s", out, err, huduma.OutcomeReceiptReused)
		}
		if got, _ := l.Invoice(ctx, second.Number); got.Status != huduma.InvoicePending {
			t.Fatalf("reused receipt left the invoice %s", got.Status)
		}
		if got, _ := l.Attempt(ctx, a2.ID); got.Status != huduma.AttemptSent {
			t.Fatalf("reused receipt left the prompt %s, want sent (for the status query)", got.Status)
		}
		if trail := actions(second); !strings.Contains(trail, "callback_receipt_reused") {
			t.Fatalf("not flagged: %s", trail)
		}
		// Paid from another phone than prompted: the money counts, flagged.
		if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_32", ResultCode: "0", Amount: 4600, Receipt: "RCPT32", Phone: "254799000111"}, receipt); out != huduma.OutcomeOtherPayer || err != nil {
			t.Fatalf("other payer: %s %v, want %s", out, err, huduma.OutcomeOtherPayer)
		}
		if got, _ := l.Invoice(ctx, second.Number); got.Status != huduma.InvoicePaid || got.MpesaReceipt != "RCPT32" {
			t.Fatalf("other payer: invoice %+v", got)
		}
		trail := actions(second)
		if !strings.Contains(trail, "callback_payer_mismatch") || strings.Contains(trail, "254799000111") {
			t.Fatalf("payer mismatch not flagged, or flagged with the full number: %s", trail)
		}
		if strings.Contains(actions(first), "mismatch") {
			t.Fatal("the matching payer was flagged")
		}
	})
	t.Run("FailureThenC2B", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := testInvoice("100000021", time.Now())
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		a, _ := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
		l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: "ws_CO_2"}, time.Now())
		if out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_2", ResultCode: "1032"}, receipt); out != huduma.OutcomeFailed {
			t.Fatalf("cancel: %s", out)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Status != huduma.InvoiceCancelled || got.Reason != "1032" {
			t.Fatalf("cancelled invoice %+v", got)
		}
		// Paybill payments accumulate: 10, then the 4590 still due.
		if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "T1", Invoice: inv.Number, Amount: 10}, receipt); s.Outcome != huduma.OutcomePartial || err != nil {
			t.Fatalf("c2b part payment: %+v %v", s, err)
		}
		for i, want := range []huduma.Outcome{huduma.OutcomePaid, huduma.OutcomeDuplicate} {
			if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "T2", Invoice: inv.Number, Amount: 4590}, receipt); s.Outcome != want || err != nil {
				t.Fatalf("c2b #%d: %+v %v", i, s, err)
			}
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Status != huduma.InvoicePaid || got.Received != 4600 || got.MpesaReceipt != "T2" {
			t.Fatalf("paid by two payments: %+v", got)
		}
		if s, _ := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "T3", Invoice: "1234567890", Amount: 4600}, receipt); s.Outcome != huduma.OutcomeSuspense || s.Reason != huduma.ReasonUnknownAccount {
			t.Fatalf("c2b unknown invoice: %+v", s)
		}
	})
	t.Run("JobsLeaseAndRetry", func(t *testing.T) {
		base := ledgertest.New(open(t))
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		if err := l.Enqueue(ctx, "test", map[string]int{"x": 1}, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if jobs, _ := l.Claim(ctx, 10, time.Minute); len(jobs) != 0 {
			t.Fatal("claimed a job before it was due")
		}
		now = now.Add(2 * time.Second)
		jobs, err := l.Claim(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		if again, _ := l.Claim(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatal("a leased job was claimed twice")
		}
		now = now.Add(2 * time.Minute) // the worker died: the lease runs out
		again, _ := l.Claim(ctx, 10, time.Minute)
		if len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("expired lease not reclaimed: %+v", again)
		}
		if err := l.Retry(ctx, again[0].ID, now.Add(time.Hour), "later", nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Claim(ctx, 10, time.Minute); len(got) != 0 {
			t.Fatal("retried job ran early")
		}
		now = now.Add(2 * time.Hour)
		got, _ := l.Claim(ctx, 10, time.Minute)
		if len(got) != 1 {
			t.Fatal("retried job never came back")
		}
		l.Done(ctx, got[0].ID)
		if n, _ := l.PendingJobs(ctx, "test"); n != 0 {
			t.Fatalf("%d jobs left", n)
		}
	})
	t.Run("JobsClaimByKind", func(t *testing.T) {
		base := ledgertest.New(open(t))
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		for _, j := range []struct {
			kind huduma.JobKind
			due  time.Duration
		}{{"other", -3 * time.Second}, {huduma.JobQuery, -2 * time.Second}, {huduma.JobQuery, -2 * time.Second}, {huduma.JobPush, -time.Second}, {huduma.JobPush, time.Hour}} {
			if err := l.Enqueue(ctx, j.kind, map[string]string{"kind": string(j.kind)}, now.Add(j.due)); err != nil {
				t.Fatal(err)
			}
		}
		// The due push comes first though it is the newest due job.
		first, err := l.Claim(ctx, 2, time.Minute, huduma.JobPush, huduma.JobQuery)
		if err != nil || len(first) != 2 || first[0].Kind != huduma.JobPush || first[1].Kind != huduma.JobQuery {
			t.Fatalf("claim pushes then queries, 2: %+v %v", first, err)
		}
		rest, err := l.Claim(ctx, 10, time.Minute, huduma.JobQuery)
		if err != nil || len(rest) != 1 || rest[0].Kind != huduma.JobQuery {
			t.Fatalf("claim queries: %+v %v", rest, err)
		}
		if none, _ := l.Claim(ctx, 10, time.Minute, huduma.JobPush, huduma.JobQuery); len(none) != 0 {
			t.Fatalf("claimed %+v: the other push is not due, the rest are leased", none)
		}
		if any, _ := l.Claim(ctx, 10, time.Minute); len(any) != 1 || any[0].Kind != "other" {
			t.Fatalf("claim any kind: %+v", any)
		}
	})
	t.Run("JobsClaimedOnceByConcurrentWorkers", func(t *testing.T) {
		l := ledgertest.New(open(t))
		const jobs = 120
		for i := 0; i < jobs; i++ {
			kind := huduma.JobQuery
			if i%3 == 0 {
				kind = huduma.JobPush
			}
			if err := l.Enqueue(ctx, kind, map[string]int{"n": i}, time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Go(func() {
				for empty := 0; empty < 3; {
					got, err := l.Claim(ctx, 4, time.Minute, huduma.JobPush, huduma.JobQuery)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						empty++
						continue
					}
					mu.Lock()
					for _, j := range got {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Fatalf("%d of %d jobs claimed", len(seen), jobs)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("job %d claimed %d times", id, n)
			}
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		base := ledgertest.New(open(t))
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		inv := testInvoice("100000031", now)
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		if n, _ := l.ExpireDue(ctx); n != 0 {
			t.Fatal("expired early")
		}
		now = now.Add(2 * time.Hour)
		if n, _ := l.ExpireDue(ctx); n != 1 {
			t.Fatal("not expired")
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Status != huduma.InvoiceExpired {
			t.Fatalf("status %s", got.Status)
		}
		if _, err := l.QueuePush(ctx, inv.Number, inv.Phone, now, ""); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("prompt for an expired invoice: %v", err)
		}
	})
	t.Run("ConcurrentSweepsExpireEachOnce", func(t *testing.T) {
		// Every instance runs the expiry sweep: sweeps at once must neither
		// deadlock nor expire (and audit) an invoice twice.
		base := ledgertest.New(open(t))
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		const due = 120
		for i := range due {
			inv := testInvoice(fmt.Sprintf("1002%05d", i), now)
			if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(2 * time.Hour)
		var total atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for {
					n, err := l.ExpireDue(ctx)
					if err != nil {
						errs <- err
						return
					}
					total.Add(int64(n))
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("sweep: %v", err)
		}
		if total.Load() != due {
			t.Fatalf("sweeps expired %d invoices, want %d", total.Load(), due)
		}
		if n, _ := l.ExpireDue(ctx); n != 0 {
			t.Fatalf("%d left after the sweeps", n)
		}
	})
	t.Run("Retention", func(t *testing.T) {
		base := ledgertest.New(open(t))
		now := time.Now().Add(-100 * 24 * time.Hour)
		l := base.WithClock(func() time.Time { return now })
		phone := huduma.MSISDN("+254712345678")
		// 100 days ago: a sent message, a queued one, an inbound SMS, an OTP.
		l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "old and sent"}, "")
		claimed, _ := l.ClaimMessages(ctx, 10, time.Minute)
		for _, m := range claimed {
			l.MessagesSent(ctx, []huduma.Sent{{ID: m.ID, ProviderID: "P1"}})
		}
		l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "old but never sent"}, "")
		l.FirstInbound(ctx, "in-old", phone, "STATUS 1")
		l.CreateOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "login"}, "hash", huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: "code"})
		now = time.Now()
		l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "new"}, "")
		p, err := l.Purge(ctx, now.Add(-90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if p.Messages != 1 || p.Inbound != 1 || p.OTPs != 1 {
			t.Fatalf("purged %+v, want 1 message, 1 inbound, 1 otp", p)
		}
		msgs, _ := l.Messages(ctx, phone, 10)
		var bodies []string
		for _, m := range msgs {
			bodies = append(bodies, m.Body)
		}
		if strings.Join(bodies, "|") != "new|code|old but never sent" {
			t.Fatalf("left %q", bodies)
		}
		if first, _ := l.FirstInbound(ctx, "in-old", phone, "again"); !first {
			t.Fatal("the inbound record survived")
		}
	})
}
