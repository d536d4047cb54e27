package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// c2b posts a paybill confirmation as Daraja would.
func (p *payEnv) c2b(trans, account string, amount int64, msisdn string) {
	p.t.Helper()
	code, body := p.post("/payments/c2b/confirmation?token="+testToken, []byte(fmt.Sprintf(`{"TransactionType":"Pay Bill","TransID":%q,
		"TransTime":%q,"TransAmount":"%d.00","BusinessShortCode":"174379","BillRefNumber":%q,"MSISDN":%q,"FirstName":"Jane"}`,
		trans, time.Now().In(huduma.EAT).Format("20060102150405"), amount, account, msisdn)))
	if code != 200 {
		p.t.Fatalf("confirmation %s: %d %s", trans, code, body)
	}
}

// texts returns the bodies of the payment texts (and receipts) queued to
// phone, oldest first.
func (p *payEnv) texts(phone huduma.MSISDN, kinds ...huduma.MessageKind) []string {
	p.t.Helper()
	msgs, err := p.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, k := range kinds {
			if msgs[i].Kind == k {
				out = append(out, msgs[i].Body)
			}
		}
	}
	return out
}

// paybillOrder orders the passport from a non-Safaricom phone (no prompt:
// paid by paybill) and returns its invoice number.
func (p *payEnv) paybillOrder(phone string) huduma.InvoiceNumber {
	p.t.Helper()
	end := p.dial(phone, "1", "3", "1001", "1", "12345678", "01011990", "1")
	m := invoiceRE.FindStringSubmatch(end)
	if m == nil || !strings.Contains(end, "Paybill") {
		p.t.Fatalf("paybill order: %s", end)
	}
	return huduma.InvoiceNumber(m[1])
}

func (p *payEnv) balanced() huduma.LedgerTotals {
	p.t.Helper()
	ctx := context.Background()
	if problems, err := p.g.store.VerifyLedger(ctx); err != nil || len(problems) > 0 {
		p.t.Fatalf("ledger: %v %v", problems, err)
	}
	tot, err := p.g.store.LedgerTotals(ctx)
	if err != nil || tot.In != tot.Applied+tot.Suspense+tot.Refunded {
		p.t.Fatalf("totals %+v %v", tot, err)
	}
	return tot
}

// TestMoneyThatMatchesNothing: paybill payments that are short, complete
// an invoice in two parts, pay a paid invoice again, overpay or name no
// invoice are recorded, applied by the accumulate rule or held, shown on
// the USSD status screen and in STATUS, and the payer is texted what
// happened when their number is known.
func TestMoneyThatMatchesNothing(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := newPayEnv(t, backend(t))
			const owner = "+254733000000" // Airtel: no prompt, pays by paybill
			n := p.paybillOrder(owner)
			p.c2b("PART1", string(n), 300, "2547 ***** 126") // masked: the owner is told
			inv := p.invoice(n)
			if inv.Status != huduma.InvoicePending || inv.Received != 300 {
				t.Fatalf("after KES 300: %+v", inv)
			}
			// The owner is on Airtel: Airtel Money's steps for the rest.
			if got := p.texts(owner, huduma.MessagePayment); len(got) != 1 || !strings.Contains(got[0], "KES 300 of 4,600 received. Airtel Money: *334# > ") ||
				!strings.Contains(got[0], "ref "+string(n)+" > KES 4,300 > PIN") {
				t.Fatalf("part payment text: %q", got)
			}
			if s := p.dial(owner, "3", string(n)); !strings.Contains(s, "KES 300 of 4,600 received, KES 4,300 to pay") {
				t.Fatalf("status screen: %s", s)
			}
			p.c2b("PART2", string(n), 4300, "2547 ***** 126")
			if inv := p.invoice(n); inv.Status != huduma.InvoicePaid || inv.Received != 4600 || inv.MpesaReceipt != "PART2" {
				t.Fatalf("after KES 4,300 more: %+v", inv)
			}
			if got := p.receipts(owner); got != 1 {
				t.Fatalf("%d receipts", got)
			}
			// Paid again: held, the owner told it will be refunded.
			p.c2b("AGAIN1", string(n), 4600, "2547 ***** 126")
			if got := p.texts(owner, huduma.MessagePayment); len(got) != 2 || !strings.Contains(got[1], "already paid") {
				t.Fatalf("paid-again text: %q", got)
			}
			// An overpayment from an unmasked number: the payer is told.
			n2 := p.paybillOrder(owner)
			p.c2b("OVER1", string(n2), 5000, "254711000222")
			if inv := p.invoice(n2); inv.Status != huduma.InvoicePaid || inv.Received != 4600 {
				t.Fatalf("overpaid: %+v", inv)
			}
			if got := p.texts("+254711000222", huduma.MessagePayment); len(got) != 1 || !strings.Contains(got[0], "KES 400 more than the total") {
				t.Fatalf("overpayment text: %q", got)
			}
			// No invoice, masked number: held, nobody to tell.
			p.c2b("NOINV1", "my passport", 700, "2547 ***** 999")
			held, err := p.g.store.Suspense(context.Background(), huduma.SuspenseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range held {
				got = append(got, fmt.Sprintf("%s:%s:%d", h.TransID, h.Reason, h.Suspense))
			}
			if strings.Join(got, ",") != "AGAIN1:invoice_paid:4600,OVER1:overpaid:400,NOINV1:unknown_account:700" {
				t.Fatalf("suspense %v", got)
			}
			if tot := p.balanced(); tot.In != 300+4300+4600+5000+700 || tot.Applied != 2*4600 {
				t.Fatalf("totals %+v", tot)
			}
			// A repeat confirmation changes nothing.
			p.c2b("NOINV1", "my passport", 700, "2547 ***** 999")
			if tot := p.balanced(); tot.Payments != 5 {
				t.Fatalf("a repeat was recorded: %+v", tot)
			}
		})
	}
}

// waitPayment polls until the ledger has trans.
func (p *payEnv) waitPayment(trans string, within time.Duration) huduma.ReceivedPayment {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := p.g.store.PaymentByTrans(context.Background(), trans)
		if err == nil {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("payment %s not in the ledger after %s: %v", trans, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMissedConfirmations: a paybill payment whose confirmation never
// came is settled by the pull worker; a prompt settled by a status query
// (no receipt) gets its receipt from the pull; and confirmations racing
// pulls of the same transactions apply each exactly once.
func TestMissedConfirmations(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["MPESA_PULL_EVERY"], env["MPESA_PULL_WINDOW"], env["HUDUMA_HOP_RATE"] = "1s", "1h", "0"
			p := newPayEnv(t, env)
			ctx := context.Background()
			n := p.paybillOrder("+254733000000")
			p.fake.AddTransaction(darajafake.Transaction{ID: "LOSTCONF01", Account: string(n), Amount: 4600, MSISDN: "254733000000"})
			inv := p.waitStatus(n, huduma.InvoicePaid, 8*time.Second)
			if got := p.waitPayment("LOSTCONF01", time.Second); got.Source != huduma.SourcePull || inv.MpesaReceipt != "LOSTCONF01" {
				t.Fatalf("pulled payment %+v, invoice %+v", got, inv)
			}
			// No callback (phone ends 04): the query settles without a
			// receipt, the pull brings it.
			nq, _ := p.order("+254708374104")
			p.waitStatus(nq, huduma.InvoicePaid, 8*time.Second)
			var receipt string
			for _, tx := range p.fake.Transactions() {
				if tx.Account == string(nq) {
					receipt = tx.ID
				}
			}
			// Either order: the query first (a provisional payment that the
			// pull gives its receipt), or the pull first (the query then
			// finds the payment it already is).
			if got := p.waitPayment(receipt, 8*time.Second); got.Invoice != nq || got.Applied != 4600 ||
				got.Source != huduma.SourceSTK && got.Source != huduma.SourcePull {
				t.Fatalf("the prompt's payment after the pull: %+v", got)
			}
			if inv := p.invoice(nq); inv.MpesaReceipt != receipt {
				t.Fatalf("invoice receipt %q, want %q", inv.MpesaReceipt, receipt)
			}
			// Confirmations and pulls of the same transactions at once.
			const racers = 8
			var numbers []huduma.InvoiceNumber
			for i := 0; i < racers; i++ {
				ni := p.paybillOrder("+254733000000")
				numbers = append(numbers, ni)
				p.fake.AddTransaction(darajafake.Transaction{ID: fmt.Sprintf("RACE%06d", i), Account: string(ni), Amount: 4600, MSISDN: "254733000000"})
			}
			var wg sync.WaitGroup
			for i, ni := range numbers {
				wg.Go(func() { p.c2b(fmt.Sprintf("RACE%06d", i), string(ni), 4600, "2547 ***** 000") })
				wg.Go(func() {
					if _, err := p.g.payments.PullOnce(ctx, p.g.mpesa, time.Now().Add(-time.Hour), time.Now()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for _, ni := range numbers {
				if inv := p.invoice(ni); inv.Status != huduma.InvoicePaid || inv.Received != 4600 {
					t.Fatalf("raced invoice %+v", inv)
				}
			}
			if tot := p.balanced(); tot.Payments != racers+2 || tot.In != (racers+2)*4600 || tot.Applied != tot.In {
				held, _ := p.g.store.Suspense(ctx, huduma.SuspenseFilter{})
				t.Fatalf("totals %+v: a transaction was applied twice or not at all; held: %+v", tot, held)
			}
			if got := p.receipts("+254733000000"); got != racers+1 {
				t.Fatalf("%d receipts, want %d", got, racers+1)
			}
		})
	}
}

// refundEnv is a gateway whose fake Daraja does reversals.
func refundEnv(t *testing.T, backend map[string]string) *payEnv {
	t.Helper()
	backend["MPESA_INITIATOR"], backend["MPESA_SECURITY_CREDENTIAL"] = "apiop", "c2VjcmV0LWNyZWRlbnRpYWw="
	return newPayEnvWith(t, backend, darajafake.Options{CallbackDelay: 200 * time.Millisecond, Initiator: "apiop", SecurityCredential: "c2VjcmV0LWNyZWRlbnRpYWw="})
}

// waitRefund polls until the payment leaves refunding.
func (p *payEnv) waitRefund(trans string, within time.Duration) huduma.ReceivedPayment {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := p.waitPayment(trans, time.Second)
		if got.State != huduma.PaymentRefunding {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("payment %s still refunding after %s", trans, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRefunds: a held payment refunded through the reversal API (the
// result arrives on its token-protected callback) ends refunded and the
// payer is told; a failing reversal holds the money again with the reason;
// neither is ever sent twice.
func TestRefunds(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			p := refundEnv(t, backend(t))
			ctx := context.Background()
			for _, trans := range []string{"REFUND0001", "REFUND0002"} {
				p.fake.AddTransaction(darajafake.Transaction{ID: trans, Account: "my passport", Amount: 700, MSISDN: "254711000333"})
				p.c2b(trans, "my passport", 700, "254711000333")
			}
			p.fake.RefuseReversal("REFUND0002", darajafake.Refusal{Code: "R000002", Desc: "The OriginalTransactionID is invalid."})
			for _, trans := range []string{"REFUND0001", "REFUND0002"} {
				if _, err := p.g.payments.RequestRefund(ctx, trans, "test:"+trans, "officer", "paid to no invoice"); err != nil {
					t.Fatal(err)
				}
				if _, err := p.g.payments.RequestRefund(ctx, trans, "test:"+trans, "officer", "paid to no invoice"); err != nil {
					t.Fatalf("the same request again: %v", err)
				}
			}
			if ok := p.waitRefund("REFUND0001", 8*time.Second); ok.State != huduma.PaymentRefunded || ok.Refunded != 700 {
				t.Fatalf("refund: %+v", ok)
			}
			failed := p.waitRefund("REFUND0002", 8*time.Second)
			if failed.State != huduma.PaymentSuspense || failed.Reason != huduma.ReasonRefundFailed || !strings.Contains(failed.Note, "invalid") {
				t.Fatalf("failed refund: %+v", failed)
			}
			if n := len(p.fake.Reversals()); n != 2 {
				t.Fatalf("%d reversals sent, want 2 (one each)", n)
			}
			if got := p.texts("+254711000333", huduma.MessagePayment); len(got) != 3 || !strings.Contains(got[2], "has been refunded to your M-Pesa") {
				t.Fatalf("texts: %q", got)
			}
			// A result without the token changes nothing.
			if code, _ := p.post("/payments/reversal/result", []byte(`{"Result":{"ResultCode":0,"ConversationID":"AG_x"}}`)); code != 403 {
				t.Fatalf("tokenless result: %d", code)
			}
			detail, err := p.g.payments.Payment(ctx, "REFUND0002")
			if err != nil || len(detail.Refunds) != 1 || detail.Refunds[0].Status != huduma.RefundFailed || detail.Refunds[0].ResultCode != "R000002" {
				t.Fatalf("refund history %+v %v", detail, err)
			}
			if tot := p.balanced(); tot.Refunded != 700 || tot.Suspense != 700 {
				t.Fatalf("totals %+v", tot)
			}
		})
	}
}
