package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

// runLeases checks the job and outbox leases (short, renewed while the
// work runs), a job put back without spending a try, and a prompt given
// up with its payer's text.
func runLeases(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("PostponeSpendsNoTry", func(t *testing.T) {
		now := time.Now()
		l := ledgertest.New(open(t)).WithClock(func() time.Time { return now })
		if err := l.Enqueue(ctx, huduma.JobPush, map[string]int{"attempt_id": 1}, now); err != nil {
			t.Fatal(err)
		}
		jobs, err := l.Claim(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		if err := l.Postpone(ctx, jobs[0].ID, now.Add(30*time.Second), "circuit open"); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Claim(ctx, 10, time.Minute); len(got) != 0 {
			t.Fatal("a postponed job ran before its time")
		}
		now = now.Add(31 * time.Second)
		again, err := l.Claim(ctx, 10, time.Minute)
		if err != nil || len(again) != 1 || again[0].Attempts != 1 {
			t.Fatalf("after the postponement: %+v %v, want the job on its first try again", again, err)
		}
	})
	t.Run("MessagePostponeSpendsNoTry", func(t *testing.T) {
		now := time.Now()
		l := ledgertest.New(open(t)).WithClock(func() time.Time { return now })
		if err := l.QueueMessage(ctx, huduma.Message{To: "+254712345678", Kind: huduma.MessageReceipt, Body: "paid"}, ""); err != nil {
			t.Fatal(err)
		}
		msgs, err := l.ClaimMessages(ctx, 10, 10*time.Second)
		if err != nil || len(msgs) != 1 || msgs[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v", msgs, err)
		}
		if err := l.MessagePostpone(ctx, msgs[0].ID, now.Add(30*time.Second), "circuit open for +254712345678"); err != nil {
			t.Fatal(err)
		}
		status, reason, attempts, err := l.MessageStatus(ctx, msgs[0].ID)
		if err != nil || status != huduma.MsgQueued || attempts != 0 || strings.Contains(reason, "712345678") {
			t.Fatalf("postponed: %s %q %d %v, want queued, no try spent, the reason redacted", status, reason, attempts, err)
		}
		if got, _ := l.ClaimMessages(ctx, 10, 10*time.Second); len(got) != 0 {
			t.Fatal("a postponed message went before its time")
		}
		now = now.Add(31 * time.Second)
		if got, _ := l.ClaimMessages(ctx, 10, 10*time.Second); len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("after the postponement: %+v, want the message on its first try again", got)
		}
	})
	t.Run("RenewJobs", func(t *testing.T) {
		now := time.Now()
		l := ledgertest.New(open(t)).WithClock(func() time.Time { return now })
		for i := 0; i < 3; i++ {
			if err := l.Enqueue(ctx, huduma.JobPush, map[string]int{"attempt_id": i}, now); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := l.Claim(ctx, 3, 10*time.Second)
		if err != nil || len(jobs) != 3 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		ids := []int64{jobs[0].ID, jobs[1].ID, jobs[2].ID}
		// One finishes, one is put back to run later; only the third still
		// runs, and only its lease is extended.
		if err := l.Done(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if err := l.Retry(ctx, ids[1], now.Add(time.Hour), "later", nil); err != nil {
			t.Fatal(err)
		}
		now = now.Add(8 * time.Second)
		if n, err := l.RenewJobs(ctx, ids, 10*time.Second); err != nil || n != 1 {
			t.Fatalf("renewed %d leases (%v), want the 1 running job's", n, err)
		}
		now = now.Add(5 * time.Second) // past the first lease, within the renewed one
		if got, _ := l.Claim(ctx, 10, time.Minute); len(got) != 0 {
			t.Fatalf("claimed %+v: the running job's lease was renewed and the other is not due", got)
		}
		now = now.Add(6 * time.Second) // the renewed lease runs out: its worker died
		got, err := l.Claim(ctx, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].ID != ids[2] || got[0].Attempts != 2 {
			t.Fatalf("after the renewed lease: %+v %v", got, err)
		}
		if n, err := l.RenewJobs(ctx, nil, time.Second); err != nil || n != 0 {
			t.Fatalf("renewing nothing: %d %v", n, err)
		}
	})
	t.Run("RenewMessages", func(t *testing.T) {
		now := time.Now()
		l := ledgertest.New(open(t)).WithClock(func() time.Time { return now })
		for _, body := range []string{"one", "two"} {
			if err := l.QueueMessage(ctx, huduma.Message{To: "+254712345678", Kind: huduma.MessageReceipt, Body: body}, ""); err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := l.ClaimMessages(ctx, 10, 10*time.Second)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("claim: %+v %v", msgs, err)
		}
		if err := l.MessagesSent(ctx, []huduma.Sent{{ID: msgs[0].ID, ProviderID: "p1"}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(8 * time.Second)
		if n, err := l.RenewMessages(ctx, []int64{msgs[0].ID, msgs[1].ID}, 10*time.Second); err != nil || n != 1 {
			t.Fatalf("renewed %d leases (%v), want the 1 message still being sent", n, err)
		}
		now = now.Add(5 * time.Second)
		if got, _ := l.ClaimMessages(ctx, 10, 10*time.Second); len(got) != 0 {
			t.Fatalf("claimed %+v within a renewed lease", got)
		}
		now = now.Add(6 * time.Second)
		got, err := l.ClaimMessages(ctx, 10, 10*time.Second)
		if err != nil || len(got) != 1 || got[0].ID != msgs[1].ID || got[0].Attempts != 2 {
			t.Fatalf("after the renewed lease: %+v %v", got, err)
		}
	})
	t.Run("GiveUpPushTextsOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		now := time.Now()
		inv := testInvoice("100000071", now)
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: now}}); err != nil {
			t.Fatal(err)
		}
		jobs, err := l.Claim(ctx, 10, time.Minute, huduma.JobPush)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		var p huduma.PromptJob
		if err := json.Unmarshal(jobs[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		a, err := l.Attempt(ctx, p.AttemptID)
		if err != nil || a.Status != huduma.AttemptQueued {
			t.Fatalf("the queued attempt: %+v %v", a, err)
		}
		msg := texts{}.PromptUnsent(inv, inv.Phone)
		// Two runs of the job race (one after its worker seemed dead).
		var wg sync.WaitGroup
		var mu sync.Mutex
		ended := 0
		for i := 0; i < 4; i++ {
			wg.Go(func() {
				ok, err := l.GiveUpPush(ctx, a.ID, "daraja: HTTP 500 for +254712345678", texts{})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					ended++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ended != 1 {
			t.Fatalf("%d racing give-ups ended the attempt, want 1", ended)
		}
		msgs, _ := l.Messages(ctx, inv.Phone, 10)
		if len(msgs) != 1 || msgs[0].Body != msg.Body || msgs[0].Kind != huduma.MessagePayment {
			t.Fatalf("texts to the payer: %+v, want the one", msgs)
		}
		got, err := l.Attempt(ctx, a.ID)
		if err != nil || got.Status != huduma.AttemptUnsent || got.ResultDesc == "" || strings.Contains(got.ResultDesc, "712345678") {
			t.Fatalf("attempt after giving up: %+v %v (the reason kept, redacted)", got, err)
		}
		// It is no longer in flight: a new prompt may be queued at once.
		b, err := l.QueuePush(ctx, inv.Number, inv.Phone, now, "")
		if err != nil {
			t.Fatalf("a new prompt after one given up: %v", err)
		}
		// A prompt Daraja took is never given up.
		if err := l.MarkPushSent(ctx, b.ID, huduma.STKPushResult{CheckoutRequestID: "ws_CO_giveup"}, now); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.GiveUpPush(ctx, b.ID, "late", texts{}); err != nil || ok {
			t.Fatalf("gave up a sent prompt: %v %v", ok, err)
		}
		if msgs, _ := l.Messages(ctx, inv.Phone, 10); len(msgs) != 1 {
			t.Fatalf("%d texts after giving up a sent prompt, want still 1", len(msgs))
		}
	})
}
