package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

// recorder is a sqlstore.Observer that keeps what it heard.
type recorder struct {
	mu     sync.Mutex
	events map[string]int
}

func newRecorder() *recorder { return &recorder{events: map[string]int{}} }

func (r *recorder) add(e string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[e] += n
}

func (r *recorder) count(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[e]
}

func (r *recorder) OTP(event string)                      { r.add("otp_"+event, 1) }
func (r *recorder) MessageQueued(kind huduma.MessageKind) { r.add("queued_"+string(kind), 1) }
func (r *recorder) MessageDelivered(kind huduma.MessageKind, delivered bool) {
	r.add(fmt.Sprintf("delivered_%s_%v", kind, delivered), 1)
}

// cancelTexts cancels the settlement's context when asked for the
// receipt, so the transaction rolls back after the invoice was marked
// paid inside it.
type cancelTexts struct{ cancel context.CancelFunc }

func (c cancelTexts) Receipt(inv huduma.Invoice) huduma.Message {
	c.cancel()
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: "paid"}
}

func (c cancelTexts) Notice(huduma.PaymentNotice) (huduma.Message, bool) {
	return huduma.Message{}, false
}

func (c cancelTexts) PromptUnsent(huduma.Invoice, huduma.MSISDN) huduma.Message {
	return huduma.Message{}
}

func (c cancelTexts) Billed(huduma.Invoice) huduma.Message { return huduma.Message{} }

func (c cancelTexts) CheckoutFailed(huduma.Invoice) huduma.Message { return huduma.Message{} }

// runObserve checks the observer hears of the store's changes only once
// they commit, never of a rolled-back or replayed one, and the backlog
// QueueStats reads. (The money path's events come with its plans; the
// payments service tells them.)
func runObserve(t *testing.T, open Opener) {
	ctx := context.Background()
	want := func(t *testing.T, r *recorder, e string, n int) {
		t.Helper()
		if got := r.count(e); got != n {
			t.Fatalf("%s heard %d times, want %d (all: %v)", e, got, n, r.events)
		}
	}
	t.Run("CountsAfterCommitOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		r := newRecorder()
		l.SetObserver(r)
		created := time.Now().Add(-90 * time.Second)
		inv := testInvoice("300000001", created)
		n := huduma.InvoiceOrder{Invoice: inv, Key: "ussd:obs1", Message: &huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "pay"}}
		if _, ok, err := l.CreateInvoice(ctx, n); err != nil || !ok {
			t.Fatalf("create: %v %v", ok, err)
		}
		n.Invoice = testInvoice("300000002", created)
		if _, ok, err := l.CreateInvoice(ctx, n); err != nil || ok {
			t.Fatalf("replay: %v %v", ok, err)
		}
		want(t, r, "queued_invoice", 1)

		pay := huduma.C2BPayment{TransID: "OBS1TRANS", Invoice: inv.Number, Account: string(inv.Number), Amount: inv.Total, MSISDN: "254712345678"}
		// Rolled back after the invoice was marked paid within it: not
		// counted.
		cctx, cancel := context.WithCancel(ctx)
		if _, err := l.SettleC2B(cctx, pay, cancelTexts{cancel}); err == nil {
			t.Fatal("a settlement whose context ended mid-way committed")
		}
		want(t, r, "queued_receipt", 0)
		if got, _ := l.Invoice(ctx, inv.Number); got.Status == huduma.InvoicePaid {
			t.Fatal("the rolled-back settlement left the invoice paid")
		}

		if s, err := l.SettleC2B(ctx, pay, receipt); err != nil || s.Outcome != huduma.OutcomePaid {
			t.Fatalf("settle: %+v %v", s, err)
		}
		if s, err := l.SettleC2B(ctx, pay, receipt); err != nil || s.Outcome != huduma.OutcomeDuplicate {
			t.Fatalf("repeat: %+v %v", s, err)
		}
		want(t, r, "queued_receipt", 1)
	})
	t.Run("OTPVerdicts", func(t *testing.T) {
		l := ledgertest.New(open(t))
		r := newRecorder()
		l.SetObserver(r)
		phone := huduma.MSISDN("+254712345678")
		if err := l.CreateOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "login"}, "right", huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: "code"}); err != nil {
			t.Fatal(err)
		}
		want(t, r, "otp_sent", 1)
		want(t, r, "queued_otp", 1)
		match := func(h string) bool { return h == "right" }
		wrong := func(string) bool { return false }
		for i := 0; i < 5; i++ {
			if ok, err := l.VerifyOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "login"}, wrong); ok || err != nil {
				t.Fatalf("wrong code %d: %v %v", i, ok, err)
			}
		}
		want(t, r, "otp_rejected", 5)
		want(t, r, "otp_locked", 1)
		if ok, _ := l.VerifyOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "login"}, match); ok {
			t.Fatal("a locked code verified")
		}
		want(t, r, "otp_rejected", 6)
		want(t, r, "otp_locked", 1)

		if err := l.CreateOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "pay"}, "right", huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: "code"}); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.VerifyOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "pay"}, match); !ok || err != nil {
			t.Fatalf("right code: %v %v", ok, err)
		}
		want(t, r, "otp_verified", 1)

		if err := l.CreateOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "late"}, "right", huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: "code"}); err != nil {
			t.Fatal(err)
		}
		later := l.WithClock(func() time.Time { return time.Now().Add(10 * time.Minute) })
		if ok, _ := later.VerifyOTP(ctx, huduma.OTPScope{Phone: phone, Purpose: "late"}, match); ok {
			t.Fatal("an expired code verified")
		}
		want(t, r, "otp_expired", 1)
	})
	t.Run("DeliveryCountedOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		r := newRecorder()
		l.SetObserver(r)
		phone := huduma.MSISDN("+254712345678")
		if err := l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "hello"}, "obs-notice"); err != nil {
			t.Fatal(err)
		}
		if err := l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "hello"}, "obs-notice"); err != nil {
			t.Fatal(err)
		}
		want(t, r, "queued_notice", 1)
		msgs, err := l.ClaimMessages(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("claim: %v %v", msgs, err)
		}
		if err := l.MessagesSent(ctx, []huduma.Sent{{ID: msgs[0].ID, ProviderID: "P-OBS-1"}}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if found, err := l.ApplyDelivery(ctx, "P-OBS-1", huduma.MsgDelivered, true, ""); !found || err != nil {
				t.Fatalf("report %d: %v %v", i, found, err)
			}
		}
		want(t, r, "delivered_notice_true", 1)
	})
	t.Run("QueueStats", func(t *testing.T) {
		l := ledgertest.New(open(t))
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		at := func(d time.Duration) func() time.Time { return func() time.Time { return base.Add(d) } }
		st, err := l.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.OutboxDepth != 0 || st.OutboxOldest != 0 {
			t.Fatalf("empty outbox: %+v", st)
		}
		for _, k := range huduma.JobKinds() {
			if js, ok := st.Jobs[k]; !ok || js != (huduma.JobStats{}) {
				t.Fatalf("empty queue, kind %s: %+v %v", k, js, ok)
			}
		}
		then := l.WithClock(at(0))
		inv := testInvoice("300000011", base)
		if _, _, err := then.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Message: &huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "pay"},
			Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: base.Add(30 * time.Second)}}); err != nil {
			t.Fatal(err)
		}
		if err := then.Enqueue(ctx, huduma.JobQuery, huduma.PromptJob{AttemptID: 1}, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		now := l.WithClock(at(90 * time.Second))
		st, err = now.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.OutboxDepth != 1 || st.OutboxOldest != 90*time.Second {
			t.Fatalf("outbox %d oldest %v, want 1 and 90s", st.OutboxDepth, st.OutboxOldest)
		}
		if js := st.Jobs[huduma.JobPush]; js.Depth != 1 || js.Lag != time.Minute {
			t.Fatalf("push jobs %+v, want 1 a minute late", js)
		}
		if js := st.Jobs[huduma.JobQuery]; js.Depth != 1 || js.Lag != 0 {
			t.Fatalf("query jobs %+v, want 1 not yet due", js)
		}
		// A claimed job is being run: still there, no longer late.
		if jobs, err := now.Claim(ctx, 10, time.Minute, huduma.JobPush); err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		msgs, err := now.ClaimMessages(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("claim messages: %v %v", msgs, err)
		}
		st, _ = now.QueueStats(ctx)
		if js := st.Jobs[huduma.JobPush]; js.Depth != 1 || js.Lag != 0 {
			t.Fatalf("claimed push job %+v, want depth 1 lag 0", js)
		}
		if st.OutboxDepth != 1 {
			t.Fatalf("a message being sent is still waiting: depth %d", st.OutboxDepth)
		}
		if err := now.MessagesSent(ctx, []huduma.Sent{{ID: msgs[0].ID, ProviderID: "P-QS-1"}}); err != nil {
			t.Fatal(err)
		}
		st, _ = now.QueueStats(ctx)
		if st.OutboxDepth != 0 || st.OutboxOldest != 0 {
			t.Fatalf("after sending: %+v", st)
		}
	})
}
