package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

// refundSent queues, claims and marks sent a refund of trans.
func refundSent(t *testing.T, l ledgertest.Ledger, trans, conv string) huduma.Refund {
	t.Helper()
	ctx := context.Background()
	f, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: trans, Actor: "officer", Remarks: "wrong account"})
	if err != nil || !created {
		t.Fatalf("queue refund of %s: %+v %v %v", trans, f, created, err)
	}
	if _, won, err := l.ClaimRefund(ctx, f.ID); !won || err != nil {
		t.Fatalf("claim: %v %v", won, err)
	}
	if err := l.MarkRefundSent(ctx, f.ID, huduma.ReversalAccepted{ConversationID: "AG_" + conv, OriginatorConversationID: "OC_" + conv}); err != nil {
		t.Fatal(err)
	}
	return f
}

// runRefunds checks refunds on one backend.
func runRefunds(t *testing.T, open Opener) {
	ctx := context.Background()
	hold := func(t *testing.T, l ledgertest.Ledger, trans string, amount int64) {
		t.Helper()
		if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: trans, Account: "nothing", Amount: amount, MSISDN: "254712000333"}, texts{}); err != nil || s.Outcome != huduma.OutcomeSuspense {
			t.Fatalf("hold %s: %+v %v", trans, s, err)
		}
	}
	t.Run("RefundSucceedsOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		hold(t, l, "RF1", 700)
		hold(t, l, "RF2", 50)
		f, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RF1", Key: "api:k:1", Actor: "officer", Remarks: "wrong account"})
		if err != nil || !created || f.Amount != 700 || f.Status != huduma.RefundQueued {
			t.Fatalf("queue: %+v %v %v", f, created, err)
		}
		if n, _ := l.PendingJobs(ctx, huduma.JobReversal); n != 1 {
			t.Fatalf("%d reversal jobs, want 1", n)
		}
		if again, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RF1", Key: "api:k:1"}); err != nil || created || again.ID != f.ID {
			t.Fatalf("same key: %+v %v %v", again, created, err)
		}
		if _, _, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RF1", Key: "api:k:2"}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("second refund on its way: %v", err)
		}
		if _, _, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RF2", Key: "api:k:1"}); huduma.ErrorCode(err) != huduma.EKeyReused {
			t.Fatalf("key reused for another payment: %v", err)
		}
		if p := mustPayment(t, l, "RF1"); p.State != huduma.PaymentRefunding || p.Suspense != 700 {
			t.Fatalf("refunding: %+v", p)
		}
		inv := testInvoice("400000001", time.Now())
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		if _, err := l.ApplyPayment(ctx, "RF1", inv.Number, "officer", texts{}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("apply while refunding: %v", err)
		}
		if _, won, _ := l.ClaimRefund(ctx, f.ID); !won {
			t.Fatal("first claim lost")
		}
		if _, won, _ := l.ClaimRefund(ctx, f.ID); won {
			t.Fatal("a refund was claimed twice: it would be sent twice")
		}
		if err := l.MarkRefundSent(ctx, f.ID, huduma.ReversalAccepted{ConversationID: "AG_1", OriginatorConversationID: "OC_1"}); err != nil {
			t.Fatal(err)
		}
		res := huduma.ReversalResult{ConversationID: "AG_1", OriginatorConversationID: "OC_1", ResultCode: "0", ResultDesc: "done"}
		for i, want := range []huduma.Outcome{huduma.OutcomeRefunded, huduma.OutcomeDuplicate} {
			if out, err := l.SettleReversal(ctx, res, texts{}); out != want || err != nil {
				t.Fatalf("result #%d: %s %v", i, out, err)
			}
		}
		p := mustPayment(t, l, "RF1")
		if p.State != huduma.PaymentRefunded || p.Refunded != 700 || p.Suspense != 0 || p.SuspenseSince != nil {
			t.Fatalf("refunded: %+v", p)
		}
		if bodies := payBodies(t, l, "+254712000333"); strings.Join(bodies, "|") != "held RF1 700|held RF2 50|refunded RF1 700" {
			t.Fatalf("texts %q", bodies)
		}
		if got, _ := l.Refund(ctx, f.ID); got.Status != huduma.RefundSucceeded || got.ResultCode != "0" || got.ConversationID != "AG_1" {
			t.Fatalf("refund %+v", got)
		}
		var actions []string
		trail, _ := l.Audit(ctx, "payment", "RF1")
		for _, e := range trail {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "received,refund_requested,refund_sending,refund_sent,refunded" {
			t.Fatalf("audit %v", actions)
		}
		if _, _, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RF1"}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("refund a refunded payment: %v", err)
		}
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_forged", ResultCode: "0"}, texts{}); out != huduma.OutcomeUnknown {
			t.Fatalf("result for no refund: %s", out)
		}
		if tot := balanced(t, l); tot.Refunded != 700 || tot.Suspense != 50 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("RefundFailsAndTheMoneyIsHeldAgain", func(t *testing.T) {
		l := ledgertest.New(open(t))
		hold(t, l, "RX1", 700)
		f := refundSent(t, l, "RX1", "x1")
		if out, err := l.SettleReversal(ctx, huduma.ReversalResult{OriginatorConversationID: "OC_x1", ResultCode: "R000002", ResultDesc: "The OriginalTransactionID is invalid."}, texts{}); out != huduma.OutcomeRefundFailed || err != nil {
			t.Fatalf("failed result: %s %v", out, err)
		}
		p := mustPayment(t, l, "RX1")
		if p.State != huduma.PaymentSuspense || p.Reason != huduma.ReasonRefundFailed || p.Suspense != 700 || !strings.Contains(p.Note, "OriginalTransactionID") {
			t.Fatalf("held again: %+v", p)
		}
		if got, _ := l.Refund(ctx, f.ID); got.Status != huduma.RefundFailed || got.ResultCode != "R000002" {
			t.Fatalf("refund %+v", got)
		}
		// Held again, it can be refunded again: this time it times out in
		// Daraja's queue (no answer: still refunding), then its result says
		// it failed after all; then Daraja refuses a third outright.
		refundSent(t, l, "RX1", "x2")
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_x2", ResultCode: "1", TimedOut: true}, texts{}); out != huduma.OutcomeRefundTimedOut {
			t.Fatalf("timeout: %s", out)
		}
		if p := mustPayment(t, l, "RX1"); p.State != huduma.PaymentRefunding {
			t.Fatalf("after timeout %+v", p)
		}
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_x2", ResultCode: "R000001", ResultDesc: "Not done"}, texts{}); out != huduma.OutcomeRefundFailed {
			t.Fatalf("failure after the timeout: %s", out)
		}
		if p := mustPayment(t, l, "RX1"); p.State != huduma.PaymentSuspense || p.Note != "Not done" {
			t.Fatalf("after the failure %+v", p)
		}
		f3, _, _ := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RX1"})
		l.ClaimRefund(ctx, f3.ID)
		if err := l.FailRefund(ctx, f3.ID, "refused", "Bad Request - Invalid Initiator"); err != nil {
			t.Fatal(err)
		}
		if p := mustPayment(t, l, "RX1"); p.State != huduma.PaymentSuspense || p.Refunded != 0 {
			t.Fatalf("after refusal %+v", p)
		}
		if bodies := payBodies(t, l, "+254712000333"); len(bodies) != 1 {
			t.Fatalf("a failed refund texted the payer: %q", bodies)
		}
		if tot := balanced(t, l); tot.Suspense != 700 || tot.Refunded != 0 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("LateSuccessAfterATimeoutIsApplied", func(t *testing.T) {
		l := ledgertest.New(open(t))
		hold(t, l, "RT1", 700)
		f := refundSent(t, l, "RT1", "t1")
		timeout := huduma.ReversalResult{ConversationID: "AG_t1", OriginatorConversationID: "OC_t1", ResultCode: "1", ResultDesc: "Request timed out", TimedOut: true}
		for i, want := range []huduma.Outcome{huduma.OutcomeRefundTimedOut, huduma.OutcomeDuplicate} {
			if out, err := l.SettleReversal(ctx, timeout, texts{}); out != want || err != nil {
				t.Fatalf("timeout #%d: %s %v, want %s", i, out, err, want)
			}
		}
		// Unresolved: the money may be on its way to the payer, so neither
		// a second refund nor an apply may take it, however many ask at once.
		if p := mustPayment(t, l, "RT1"); p.State != huduma.PaymentRefunding || p.Suspense != 700 || p.Refunded != 0 {
			t.Fatalf("after the timeout: %+v", p)
		}
		inv := testInvoice("400000021", time.Now())
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var made []string
		for i := 0; i < 8; i++ {
			wg.Go(func() {
				g, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RT1", Key: fmt.Sprintf("again%d", i)})
				_, aerr := l.ApplyPayment(ctx, "RT1", inv.Number, "officer", texts{})
				mu.Lock()
				defer mu.Unlock()
				if created || huduma.ErrorCode(err) != huduma.EConflict {
					made = append(made, fmt.Sprintf("refund %+v %v", g, err))
				}
				if huduma.ErrorCode(aerr) != huduma.EConflict {
					made = append(made, fmt.Sprintf("apply %v", aerr))
				}
			})
		}
		wg.Wait()
		if len(made) > 0 {
			t.Fatalf("the money of a timed-out refund was taken again: %v", made)
		}
		if got, _ := l.Refund(ctx, f.ID); got.Status != huduma.RefundSent || got.ResultCode != "1" || !strings.Contains(got.ResultDesc, "timed out") {
			t.Fatalf("timed-out refund %+v", got)
		}
		// M-Pesa did reverse it after all: applied once, with its journal,
		// audit row and text; a repeat is a repeat.
		success := huduma.ReversalResult{ConversationID: "AG_t1", OriginatorConversationID: "OC_t1", ResultCode: "0", ResultDesc: "done"}
		for i, want := range []huduma.Outcome{huduma.OutcomeRefunded, huduma.OutcomeDuplicate} {
			if out, err := l.SettleReversal(ctx, success, texts{}); out != want || err != nil {
				t.Fatalf("late success #%d: %s %v, want %s", i, out, err, want)
			}
		}
		if out, _ := l.SettleReversal(ctx, timeout, texts{}); out != huduma.OutcomeDuplicate {
			t.Fatalf("a timeout after the success: %s", out)
		}
		if p := mustPayment(t, l, "RT1"); p.State != huduma.PaymentRefunded || p.Refunded != 700 || p.Suspense != 0 {
			t.Fatalf("after the late success: %+v", p)
		}
		if got, _ := l.Refund(ctx, f.ID); got.Status != huduma.RefundSucceeded || got.ResultCode != "0" {
			t.Fatalf("refund %+v", got)
		}
		if bodies := payBodies(t, l, "+254712000333"); strings.Join(bodies, "|") != "held RT1 700|refunded RT1 700" {
			t.Fatalf("texts %q", bodies)
		}
		var actions []string
		trail, _ := l.Audit(ctx, "payment", "RT1")
		for _, e := range trail {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "received,refund_requested,refund_sending,refund_sent,refund_timed_out,refunded" {
			t.Fatalf("audit %v", actions)
		}
		if tot := balanced(t, l); tot.Refunded != 700 || tot.Suspense != 0 || tot.Applied != 0 {
			t.Fatalf("totals %+v", tot)
		}
		// The request's answer lost and the timeout naming only the
		// payment: the same, found by the payment.
		hold(t, l, "RT2", 300)
		g, _, _ := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RT2"})
		l.ClaimRefund(ctx, g.ID)
		l.MarkRefundUnknown(ctx, g.ID, "timeout")
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_unseen2", ResultCode: "1", TimedOut: true, OriginalTransID: "RT2"}, texts{}); out != huduma.OutcomeRefundTimedOut {
			t.Fatalf("timeout found by the payment: %s", out)
		}
		if _, won, _ := l.ClaimRefund(ctx, g.ID); won {
			t.Fatal("a timed-out refund was claimed to be sent again")
		}
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_unseen2", ResultCode: "0", OriginalTransID: "RT2"}, texts{}); out != huduma.OutcomeRefunded {
			t.Fatalf("late success found by the payment: %s", out)
		}
		if tot := balanced(t, l); tot.Refunded != 1000 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("LostAnswerIsNeverSentAgainButItsResultCounts", func(t *testing.T) {
		l := ledgertest.New(open(t))
		hold(t, l, "RL1", 300)
		f, _, _ := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RL1"})
		l.ClaimRefund(ctx, f.ID)
		if err := l.MarkRefundUnknown(ctx, f.ID, "timeout"); err != nil {
			t.Fatal(err)
		}
		if _, won, _ := l.ClaimRefund(ctx, f.ID); won {
			t.Fatal("a refund whose request may have reached Daraja was claimed again")
		}
		if err := l.UnclaimRefund(ctx, f.ID, "not sent"); err != nil { // only the worker that knows it was not sent does this
			t.Fatal(err)
		}
		l.ClaimRefund(ctx, f.ID)
		if out, _ := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_unseen", ResultCode: "0", OriginalTransID: "RL1"}, texts{}); out != huduma.OutcomeRefunded {
			t.Fatalf("result found by the payment: %s", out)
		}
		if p := mustPayment(t, l, "RL1"); p.State != huduma.PaymentRefunded {
			t.Fatalf("%+v", p)
		}
		balanced(t, l)
	})
	t.Run("OnlyWhatIsHeldIsRefunded", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := testInvoice("400000011", time.Now())
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		l.SettleC2B(ctx, huduma.C2BPayment{TransID: "RO1", Invoice: inv.Number, Amount: 5000}, texts{})
		l.SettleC2B(ctx, huduma.C2BPayment{TransID: "RO2", Invoice: inv.Number, Amount: 100}, texts{}) // paid again
		if _, _, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "NONE"}); huduma.ErrorCode(err) != huduma.ENotFound {
			t.Fatalf("refund of no payment: %v", err)
		}
		f := refundSent(t, l, "RO1", "o1")
		if f.Amount != 400 {
			t.Fatalf("refund of an overpayment: KES %d, want the 400 held", f.Amount)
		}
		l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_o1", ResultCode: "0"}, texts{})
		if p := mustPayment(t, l, "RO1"); p.State != huduma.PaymentRefunded || p.Applied != 4600 || p.Refunded != 400 {
			t.Fatalf("%+v", p)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Status != huduma.InvoicePaid || got.Received != 4600 {
			t.Fatalf("the refund touched the invoice: %+v", got)
		}
		// A prompt's payment confirmed without its receipt cannot be
		// reversed yet.
		inv2 := testInvoice("400000012", time.Now())
		l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv2})
		a, _ := l.QueuePush(ctx, inv2.Number, inv2.Phone, time.Now(), "")
		l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: "ws_CO_ro"}, time.Now())
		l.SettleC2B(ctx, huduma.C2BPayment{TransID: "RO3", Invoice: inv2.Number, Amount: 4600, MSISDN: "2547 ***** 126"}, texts{})
		l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_ro", ResultCode: "0", Amount: 4600}, texts{}) // held: paid meanwhile
		if _, _, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "stk:ws_CO_ro"}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("refund without a receipt: %v", err)
		}
		balanced(t, l)
	})
	t.Run("ConcurrentRequestsMakeOneRefund", func(t *testing.T) {
		l := ledgertest.New(open(t))
		hold(t, l, "RC1", 900)
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, refusals := 0, 0
		ids := map[int64]bool{}
		for i := 0; i < 10; i++ {
			wg.Go(func() {
				f, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RC1", Key: fmt.Sprintf("k%d", i%2)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && created:
					made++
				case huduma.ErrorCode(err) == huduma.EConflict:
					refusals++
				case err != nil:
					t.Error(err)
				}
				if err == nil {
					ids[f.ID] = true
				}
			})
		}
		wg.Wait()
		if made != 1 || len(ids) != 1 {
			t.Fatalf("%d refunds made (%d ids), want 1; %d refused", made, len(ids), refusals)
		}
		var id int64
		for k := range ids {
			id = k
		}
		won := 0
		for i := 0; i < 8; i++ {
			wg.Go(func() {
				if _, ok, err := l.ClaimRefund(ctx, id); ok && err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d workers claimed the refund, want 1", won)
		}
	})
}
