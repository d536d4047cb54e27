package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// TestLateRefundSuccessAfterTimeout: a reversal that times out in
// Daraja's queue (its result arrives on the timeout route; two officers
// asked at once, and made one refund) leaves the
// payment refunding; refund requests racing each other over the API are
// all refused while it is unresolved; the success that M-Pesa reports
// later on the result route is applied, once (the money was sent), with
// the payer's text, and the ledger balances.
func TestLateRefundSuccessAfterTimeout(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_API_KEYS"] = testAPIKey
			p := refundEnv(t, env)
			const trans = "LATEREF001"
			p.fake.AddTransaction(darajafake.Transaction{ID: trans, Account: "my passport", Amount: 900, MSISDN: "254711000777"})
			p.c2b(trans, "my passport", 900, "254711000777")
			p.fake.RefuseReversal(trans, darajafake.Refusal{Code: "1", Desc: "The request timed out in the queue.", Timeout: true})
			// Two officers ask at once: one refund.
			var wg sync.WaitGroup
			first := make(chan int, 2)
			for i := 0; i < 2; i++ {
				wg.Go(func() {
					code, _ := p.api("POST", "/payments/"+trans+"/refund", `{"remarks":"paid to no invoice"}`, "Idempotency-Key", fmt.Sprintf("first-%d", i))
					first <- code
				})
			}
			wg.Wait()
			close(first)
			if a, b := <-first, <-first; a+b != 202+409 {
				t.Fatalf("two refund requests at once: %d and %d, want one 202 and one 409", a, b)
			}
			// Wait for the timeout to be recorded.
			deadline := time.Now().Add(8 * time.Second)
			for {
				detail, err := p.g.payments.Payment(t.Context(), trans)
				if err == nil && len(detail.Refunds) == 1 && detail.Refunds[0].ResultCode != "" {
					if detail.State != huduma.PaymentRefunding || detail.Refunds[0].Status == huduma.RefundFailed {
						t.Fatalf("after the queue timeout: %+v", detail)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no timeout recorded: %+v %v", detail, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Officers asking again, at once: the first refund is
			// unresolved, so every one is refused.
			codes := make(chan int, 8)
			for i := 0; i < 8; i++ {
				wg.Go(func() {
					code, _ := p.api("POST", "/payments/"+trans+"/refund", `{}`, "Idempotency-Key", fmt.Sprintf("again-%d", i))
					codes <- code
				})
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				if code != 409 {
					t.Fatalf("a refund request while the first is unresolved got %d, want 409", code)
				}
			}
			if n := len(p.fake.Reversals()); n != 1 {
				t.Fatalf("%d reversals sent, want 1", n)
			}
			// M-Pesa reverses it after all and says so on the result route.
			rv := p.fake.Reversals()[0]
			late := fmt.Sprintf(`{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"The service request is processed successfully.",
				"OriginatorConversationID":%q,"ConversationID":%q,"TransactionID":"RVSLATE001",
				"ResultParameters":{"ResultParameter":[{"Key":"OriginalTransactionID","Value":%q}]}}}`, rv.OriginatorConversationID, rv.ConversationID, trans)
			for i := 0; i < 2; i++ {
				if code, body := p.post("/payments/reversal/result?token="+testToken, []byte(late)); code != 200 {
					t.Fatalf("late success #%d: %d %s", i, code, body)
				}
			}
			got := p.waitPayment(trans, time.Second)
			if got.State != huduma.PaymentRefunded || got.Refunded != 900 || got.Suspense != 0 {
				t.Fatalf("after the late success: %+v", got)
			}
			if texts := p.texts("+254711000777", huduma.MessagePayment); len(texts) != 2 || !strings.Contains(texts[1], "has been refunded to your M-Pesa") {
				t.Fatalf("texts: %q", texts)
			}
			var outcomes []string
			rows, err := p.g.store.SQL().Query(`SELECT outcome FROM payment_callbacks WHERE kind = 'reversal' ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var o string
				rows.Scan(&o)
				outcomes = append(outcomes, o)
			}
			rows.Close()
			if strings.Join(outcomes, ",") != "refund_timed_out,refunded,duplicate" {
				t.Fatalf("reversal callbacks %v", outcomes)
			}
			if tot := p.balanced(); tot.Refunded != 900 || tot.Suspense != 0 {
				t.Fatalf("totals %+v", tot)
			}
		})
	}
}
