package storetest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
)

// runHostile checks, on one backend, what arrives malformed at the
// ledger whatever let it through: amounts no M-Pesa payment carries are
// refused and change nothing; a transaction id differing only in case is
// the same payment at every entry; text with NUL bytes (which Postgres
// refuses) and terminal escapes is kept with them replaced.
func runHostile(t *testing.T, l ledgertest.Ledger) {
	ctx := context.Background()
	for _, amount := range []int64{0, -1, huduma.MaxPayment + 1, math.MaxInt64, math.MinInt64} {
		if _, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "HUGE1", Account: "x", Amount: amount}, texts{}); huduma.ErrorCode(err) != huduma.EInvalid {
			t.Fatalf("amount %d: %v, want invalid", amount, err)
		}
	}
	if tot := balanced(t, l); tot.Payments != 0 {
		t.Fatalf("a refused amount was recorded: %+v", tot)
	}
	// The most one payment carries, held, twice over: the sums hold.
	for _, trans := range []string{"MAX1", "MAX2"} {
		if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: trans, Account: "x", Amount: huduma.MaxPayment}, texts{}); err != nil || s.Suspense != huduma.MaxPayment {
			t.Fatalf("KES %d: %+v %v", huduma.MaxPayment, s, err)
		}
	}
	if tot := balanced(t, l); tot.In != 2*huduma.MaxPayment {
		t.Fatalf("totals %+v", tot)
	}
	if rows, err := l.SettlementReport(ctx, time.Now().Add(-time.Hour), ""); err != nil || len(rows) != 1 || rows[0].SuspenseOpenedAmount != 2*huduma.MaxPayment {
		t.Fatalf("report %+v %v", rows, err)
	}

	// One id, two cases: a confirmation, a pull, an officer's lookup, an
	// apply, a refund and its result.
	inv := invoiceOf("500000001", 300, time.Now())
	if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
		t.Fatal(err)
	}
	if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "rktqdm7w6s", Account: "typo", Amount: 700, MSISDN: "254712000444"}, texts{}); err != nil || s.Outcome != huduma.OutcomeSuspense {
		t.Fatalf("lower case: %+v %v", s, err)
	}
	if s, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: " RKTQDM7W6S ", Account: "typo", Amount: 700, Source: huduma.SourcePull}, texts{}); err != nil || s.Outcome != huduma.OutcomeDuplicate {
		t.Fatalf("the same id in upper case: %+v %v", s, err)
	}
	if p := mustPayment(t, l, "Rktqdm7W6s"); p.TransID != "RKTQDM7W6S" {
		t.Fatalf("lookup in mixed case: %+v", p)
	}
	if s, err := l.ApplyPayment(ctx, "rktqdm7w6s", inv.Number, "officer", texts{}); err != nil || s.Applied != 300 || s.Suspense != 400 {
		t.Fatalf("apply by the lower-case id: %+v %v", s, err)
	}
	f, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "rktqdm7w6s", Key: "k1"})
	if err != nil || !created || f.TransID != "RKTQDM7W6S" || f.Amount != 400 {
		t.Fatalf("refund by the lower-case id: %+v %v %v", f, created, err)
	}
	if again, created, err := l.QueueRefund(ctx, huduma.RefundRequest{TransID: "RKTQDM7W6S", Key: "k1"}); err != nil || created || again.ID != f.ID {
		t.Fatalf("the same key with the id in upper case: %+v %v %v", again, created, err)
	}
	if refunds, err := l.Refunds(ctx, "rktqdm7w6s"); err != nil || len(refunds) != 1 {
		t.Fatalf("refunds by the lower-case id: %+v %v", refunds, err)
	}
	l.ClaimRefund(ctx, f.ID)
	if out, err := l.SettleReversal(ctx, huduma.ReversalResult{ConversationID: "AG_lost", ResultCode: "0", OriginalTransID: "rktqdm7w6s"}, texts{}); err != nil || out != huduma.OutcomeRefunded {
		t.Fatalf("result naming the payment in lower case: %s %v", out, err)
	}
	// A prompt's receipt in lower case, then its confirmation.
	inv2 := invoiceOf("500000002", 300, time.Now())
	l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv2})
	a, _ := l.QueuePush(ctx, inv2.Number, inv2.Phone, time.Now(), "")
	l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: "ws_CO_Case1"}, time.Now())
	if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_Case1", ResultCode: "0", Amount: 300, Receipt: "stkcase001"}, texts{}); err != nil || out != huduma.OutcomePaid {
		t.Fatalf("prompt: %s %v", out, err)
	}
	if s, _ := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "STKCASE001", Invoice: inv2.Number, Amount: 300}, texts{}); s.Outcome != huduma.OutcomeDuplicate {
		t.Fatalf("the prompt's confirmation: %+v", s)
	}
	if got, _ := l.Invoice(ctx, inv2.Number); got.MpesaReceipt != "STKCASE001" {
		t.Fatalf("invoice receipt %q", got.MpesaReceipt)
	}

	// NUL bytes and escapes from outside.
	if _, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: "NUL1", Account: "12345\x0067890\x1b[2J", Amount: 10, MSISDN: "\x1b]0;x\x07 2547 ***** 126"}, texts{}); err != nil {
		t.Fatalf("account with NUL: %v", err)
	}
	p := mustPayment(t, l, "NUL1")
	if p.Account != "12345\ufffd67890\ufffd[2J" || p.Reason != huduma.ReasonUnknownAccount || strings.ContainsAny(p.Payer, "\x1b\x07") {
		t.Fatalf("held with NUL: %+v", p)
	}
	if err := l.RecordCallback(ctx, "c2b\x00", "ref\x00", "rejected: \x00", []byte("{\"x\":\"\x00\"}")); err != nil {
		t.Fatalf("callback with NUL: %v", err)
	}
	if err := l.RecordSessionEvent(ctx, huduma.SessionEvent{Provider: "africastalking", SessionID: "ATUid\x00", MSISDN: "+254712345678", Status: "Failed\x00",
		Input: "1*\x00", LastResponse: "CON\x00", ErrorMessage: "\x00", At: time.Now()}); err != nil {
		t.Fatalf("session event with NUL: %v", err)
	}
	if tot := balanced(t, l); tot.Payments != 5 {
		t.Fatalf("totals %+v", tot)
	}
}
