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
	"github.com/huduma-ke/huduma/internal/moneyprop"
)

// texts is a huduma.PaymentTexts that texts what happened to the payer
// when the phone is known, else to the invoice's owner.
type texts struct{}

func (texts) Receipt(inv huduma.Invoice) huduma.Message { return receipt(inv) }

func (texts) PromptUnsent(inv huduma.Invoice, payer huduma.MSISDN) huduma.Message {
	return huduma.Message{To: payer, Kind: huduma.MessagePayment, Body: "no prompt for " + string(inv.Number)}
}

func (texts) Billed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: "bill " + inv.Bill + " for " + string(inv.Number)}
}

func (texts) CheckoutFailed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessagePayment, Body: "not billed " + string(inv.Number)}
}

func (texts) Notice(n huduma.PaymentNotice) (huduma.Message, bool) {
	to := n.Payment.Phone
	if to == "" && n.Invoice != nil {
		to = n.Invoice.Phone
	}
	if to == "" {
		return huduma.Message{}, false
	}
	return huduma.Message{To: to, Kind: huduma.MessagePayment, Body: fmt.Sprintf("%s %s %d", n.Kind, n.Payment.TransID, n.Amount)}, true
}

// invoiceOf makes a pending invoice for service 1001 with the given total.
func invoiceOf(number string, total int64, now time.Time) huduma.Invoice {
	inv := testInvoice(number, now)
	inv.Fee, inv.ConvenienceFee, inv.Total = total-50, 50, total
	return inv
}

// payBodies returns the payment texts queued to phone, oldest first.
func payBodies(t *testing.T, l ledgertest.Ledger, phone huduma.MSISDN) []string {
	t.Helper()
	msgs, err := l.Messages(context.Background(), phone, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == huduma.MessagePayment {
			out = append(out, msgs[i].Body)
		}
	}
	return out
}

// balanced fails the test unless the ledger balances.
func balanced(t *testing.T, l ledgertest.Ledger) huduma.LedgerTotals {
	t.Helper()
	ctx := context.Background()
	problems, err := l.VerifyLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("the ledger does not balance:\n%s", strings.Join(problems, "\n"))
	}
	tot, err := l.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.In != tot.Applied+tot.Suspense+tot.Refunded {
		t.Fatalf("money in %d != applied %d + suspense %d + refunded %d", tot.In, tot.Applied, tot.Suspense, tot.Refunded)
	}
	return tot
}

func mustPayment(t *testing.T, l ledgertest.Ledger, trans string) huduma.ReceivedPayment {
	t.Helper()
	p, err := l.PaymentByTrans(context.Background(), trans)
	if err != nil {
		t.Fatalf("payment %s: %v", trans, err)
	}
	return p
}

// runSuspense checks the suspense ledger on one backend.
func runSuspense(t *testing.T, open Opener) {
	ctx := context.Background()
	create := func(t *testing.T, l ledgertest.Ledger, inv huduma.Invoice) huduma.Invoice {
		t.Helper()
		got, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	c2b := func(t *testing.T, l ledgertest.Ledger, trans, account string, amount int64, msisdn string) huduma.Settlement {
		t.Helper()
		p := huduma.C2BPayment{TransID: trans, Account: account, Amount: amount, MSISDN: msisdn, PaidAt: time.Now()}
		if n, err := huduma.ParseInvoiceNumber(account); err == nil {
			p.Invoice = n
		}
		s, err := l.SettleC2B(ctx, p, texts{})
		if err != nil {
			t.Fatalf("settle %s: %v", trans, err)
		}
		return s
	}
	t.Run("WrongAmountUnderpaysAndTwoPartsComplete", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := create(t, l, testInvoice("300000001", time.Now()))
		s := c2b(t, l, "UP1", string(inv.Number), 300, "2547 ***** 126")
		if s.Outcome != huduma.OutcomePartial || s.Applied != 300 || s.Suspense != 0 {
			t.Fatalf("part payment: %+v", s)
		}
		got, _ := l.Invoice(ctx, inv.Number)
		if got.Status != huduma.InvoicePending || got.Received != 300 || got.Due() != 4300 {
			t.Fatalf("after KES 300: %+v", got)
		}
		// The masked payer cannot be texted; the invoice's owner is.
		if bodies := payBodies(t, l, inv.Phone); len(bodies) != 1 || bodies[0] != "partial UP1 300" {
			t.Fatalf("texts to the owner: %q", bodies)
		}
		if s := c2b(t, l, "UP2", string(inv.Number), 4300, ""); s.Outcome != huduma.OutcomePaid || s.Applied != 4300 {
			t.Fatalf("the rest: %+v", s)
		}
		got, _ = l.Invoice(ctx, inv.Number)
		if got.Status != huduma.InvoicePaid || got.Received != 4600 || got.MpesaReceipt != "UP2" || got.PaidAt == nil {
			t.Fatalf("paid by two payments: %+v", got)
		}
		if msgs, _ := l.Messages(ctx, inv.Phone, 10); msgs[0].Kind != huduma.MessageReceipt {
			t.Fatalf("no receipt once paid: %+v", msgs[0])
		}
		for _, trans := range []string{"UP1", "UP2"} {
			if p := mustPayment(t, l, trans); p.State != huduma.PaymentApplied || p.Applied != p.Amount || p.Invoice != inv.Number {
				t.Fatalf("payment %s: %+v", trans, p)
			}
		}
		if tot := balanced(t, l); tot.In != 4600 || tot.Applied != 4600 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("OverpaymentRemainderHeld", func(t *testing.T) {
		l := ledgertest.New(open(t))
		inv := create(t, l, testInvoice("300000011", time.Now()))
		s := c2b(t, l, "OV1", string(inv.Number), 5000, "254712345678") // an unmasked payer
		if s.Outcome != huduma.OutcomeOverpaid || s.Applied != 4600 || s.Suspense != 400 || s.Reason != huduma.ReasonOverpaid {
			t.Fatalf("overpayment: %+v", s)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Status != huduma.InvoicePaid || got.Received != 4600 {
			t.Fatalf("overpaid invoice: %+v", got)
		}
		p := mustPayment(t, l, "OV1")
		if p.State != huduma.PaymentSuspense || p.Suspense != 400 || p.Applied != 4600 || p.Payer != "2547123***678" || p.Phone != "+254712345678" {
			t.Fatalf("held remainder: %+v", p)
		}
		if bodies := payBodies(t, l, "+254712345678"); len(bodies) != 1 || bodies[0] != "overpaid OV1 400" {
			t.Fatalf("texts to the payer: %q", bodies)
		}
		if tot := balanced(t, l); tot.Suspense != 400 || tot.Applied != 4600 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("UnknownAccountHeld", func(t *testing.T) {
		l := ledgertest.New(open(t))
		for _, account := range []string{"1234567890", "hello", ""} {
			trans := "UA" + fmt.Sprint(len(account))
			if s := c2b(t, l, trans, account, 700, "2547 ***** 126"); s.Outcome != huduma.OutcomeSuspense || s.Reason != huduma.ReasonUnknownAccount || s.Suspense != 700 {
				t.Fatalf("account %q: %+v", account, s)
			}
			if p := mustPayment(t, l, trans); p.Account != account || p.Invoice != "" || p.SuspenseSince == nil {
				t.Fatalf("held %q: %+v", account, p)
			}
		}
		if msgs, _ := l.Messages(ctx, "+254712345126", 10); len(msgs) != 0 {
			t.Fatal("texted a masked number")
		}
		// A known payer is told.
		c2b(t, l, "UA9", "999", 100, "254712000111")
		if bodies := payBodies(t, l, "+254712000111"); len(bodies) != 1 || bodies[0] != "held UA9 100" {
			t.Fatalf("texts to a known payer: %q", bodies)
		}
		balanced(t, l)
	})
	t.Run("PaidInvoicePaidAgainAndExpired", func(t *testing.T) {
		base := ledgertest.New(open(t))
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		inv := create(t, l, testInvoice("300000021", now))
		c2b(t, l, "PA1", string(inv.Number), 4600, "")
		for i := 0; i < 2; i++ { // a repeat of the first changes nothing
			if s := c2b(t, l, "PA1", string(inv.Number), 4600, ""); s.Outcome != huduma.OutcomeDuplicate {
				t.Fatalf("repeat: %+v", s)
			}
		}
		s := c2b(t, l, "PA2", string(inv.Number), 4600, "")
		if s.Outcome != huduma.OutcomeSuspense || s.Reason != huduma.ReasonInvoicePaid || s.Suspense != 4600 || s.Invoice != inv.Number {
			t.Fatalf("paid again: %+v", s)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.Received != 4600 || got.MpesaReceipt != "PA1" {
			t.Fatalf("second payment changed the invoice: %+v", got)
		}
		if bodies := payBodies(t, l, inv.Phone); len(bodies) != 1 || bodies[0] != "held PA2 4600" {
			t.Fatalf("texts: %q", bodies)
		}
		old := create(t, l, testInvoice("300000022", now))
		now = now.Add(2 * time.Hour)
		if n, _ := l.ExpireDue(ctx); n != 1 {
			t.Fatal("not expired")
		}
		if s := c2b(t, l, "EX1", string(old.Number), 4600, ""); s.Outcome != huduma.OutcomeSuspense || s.Reason != huduma.ReasonInvoiceExpired {
			t.Fatalf("expired: %+v", s)
		}
		if tot := balanced(t, l); tot.In != 3*4600 || tot.Suspense != 2*4600 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("BadPaymentChangesNothing", func(t *testing.T) {
		l := ledgertest.New(open(t))
		for _, p := range []huduma.C2BPayment{{TransID: "", Amount: 10}, {TransID: "Z1", Amount: 0}, {TransID: "Z2", Amount: -5},
			{TransID: "stk:ws_CO_1", Amount: 10}, {TransID: strings.Repeat("Z", 65), Amount: 10}} {
			if _, err := l.SettleC2B(ctx, p, texts{}); huduma.ErrorCode(err) != huduma.EInvalid {
				t.Fatalf("%+v: %v, want invalid", p, err)
			}
		}
		if tot := balanced(t, l); tot.Payments != 0 {
			t.Fatalf("a refused payment was recorded: %+v", tot)
		}
	})
	t.Run("ApplyHeldMoneyByTheRule", func(t *testing.T) {
		l := ledgertest.New(open(t))
		a := create(t, l, invoiceOf("300000031", 1000, time.Now()))
		b := create(t, l, invoiceOf("300000032", 1000, time.Now()))
		c2b(t, l, "AP1", "typo", 1500, "254712000222")
		if _, err := l.ApplyPayment(ctx, "AP1", "1234567890", "officer", texts{}); huduma.ErrorCode(err) != huduma.ENotFound {
			t.Fatalf("apply to no invoice: %v", err)
		}
		if _, err := l.ApplyPayment(ctx, "NOPE", a.Number, "officer", texts{}); huduma.ErrorCode(err) != huduma.ENotFound {
			t.Fatalf("apply an unknown payment: %v", err)
		}
		s, err := l.ApplyPayment(ctx, "AP1", a.Number, "officer", texts{})
		if err != nil || s.Outcome != huduma.OutcomeOverpaid || s.Applied != 1000 || s.Suspense != 500 {
			t.Fatalf("apply 1500 to 1000: %+v %v", s, err)
		}
		if _, err := l.ApplyPayment(ctx, "AP1", a.Number, "officer", texts{}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("apply to a paid invoice: %v", err)
		}
		p := mustPayment(t, l, "AP1")
		if p.State != huduma.PaymentSuspense || p.Reason != huduma.ReasonOverpaid || p.Suspense != 500 || p.Invoice != "" {
			t.Fatalf("after the first apply: %+v", p)
		}
		s, err = l.ApplyPayment(ctx, "AP1", b.Number, "officer", texts{})
		if err != nil || s.Outcome != huduma.OutcomePartial || s.Applied != 500 || s.Suspense != 0 {
			t.Fatalf("apply the rest: %+v %v", s, err)
		}
		if got := mustPayment(t, l, "AP1"); got.State != huduma.PaymentApplied || got.Applied != 1500 {
			t.Fatalf("fully applied: %+v", got)
		}
		if _, err := l.ApplyPayment(ctx, "AP1", b.Number, "officer", texts{}); huduma.ErrorCode(err) != huduma.EConflict {
			t.Fatalf("apply an applied payment: %v", err)
		}
		if got, _ := l.Invoice(ctx, b.Number); got.Received != 500 || got.Status != huduma.InvoicePending {
			t.Fatalf("invoice b: %+v", got)
		}
		if bodies := payBodies(t, l, "+254712000222"); strings.Join(bodies, "|") != "held AP1 1500|applied AP1 1000|applied AP1 500" {
			t.Fatalf("texts: %q", bodies)
		}
		trail, _ := l.Audit(ctx, "payment", "AP1")
		if len(trail) != 3 || !strings.Contains(trail[1].Detail, `"actor":"officer"`) {
			t.Fatalf("audit: %+v", trail)
		}
		balanced(t, l)
	})
	t.Run("ListSuspenseByAgeReasonAgency", func(t *testing.T) {
		base := ledgertest.New(open(t))
		if _, err := base.ImportCatalog(ctx, Fixture()); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		l := base.WithClock(func() time.Time { return now })
		passport := create(t, l, testInvoice("300000041", now)) // DIS
		licence := testInvoice("300000042", now)
		licence.ServiceCode = 2001 // NTSA
		licence = create(t, l, licence)
		c2b(t, l, "LS1", string(passport.Number), 5000, "") // overpaid, DIS
		now = now.Add(3 * time.Hour)
		c2b(t, l, "LS2", string(licence.Number), 9999, "") // overpaid, NTSA
		c2b(t, l, "LS3", "nothing", 10, "")                // unknown
		list := func(f huduma.SuspenseFilter) string {
			t.Helper()
			items, err := l.Suspense(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range items {
				ids = append(ids, p.TransID+"/"+p.Agency)
			}
			return strings.Join(ids, ",")
		}
		for _, tc := range []struct {
			f    huduma.SuspenseFilter
			want string
		}{
			{huduma.SuspenseFilter{}, "LS1/DIS,LS2/NTSA,LS3/"},
			{huduma.SuspenseFilter{OlderThan: 2 * time.Hour}, "LS1/DIS"},
			{huduma.SuspenseFilter{Reason: huduma.ReasonUnknownAccount}, "LS3/"},
			{huduma.SuspenseFilter{Agency: "NTSA"}, "LS2/NTSA"},
			{huduma.SuspenseFilter{Agency: "NTSA", Reason: huduma.ReasonUnknownAccount}, ""},
			{huduma.SuspenseFilter{Limit: 2}, "LS1/DIS,LS2/NTSA"},
		} {
			if got := list(tc.f); got != tc.want {
				t.Errorf("suspense %+v = %q, want %q", tc.f, got, tc.want)
			}
		}
	})
	t.Run("PromptAndPaybillAreOnePayment", func(t *testing.T) {
		l := ledgertest.New(open(t))
		prompt := func(number, checkout string) (huduma.Invoice, huduma.Attempt) {
			t.Helper()
			inv := create(t, l, testInvoice(number, time.Now()))
			a, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: checkout}, time.Now()); err != nil {
				t.Fatal(err)
			}
			return inv, a
		}
		// A status query settles without a receipt; the receipt comes
		// later from a pulled transaction: one payment, not two.
		inv, _ := prompt("300000051", "ws_CO_51")
		if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_51", ResultCode: "0", Amount: 4600}, texts{}); out != huduma.OutcomePaid || err != nil {
			t.Fatalf("query success: %s %v", out, err)
		}
		if p := mustPayment(t, l, "stk:ws_CO_51"); !p.Provisional() || p.Applied != 4600 {
			t.Fatalf("provisional: %+v", p)
		}
		if s := c2b(t, l, "RCPT51", string(inv.Number), 4600, "2547 ***** 678"); s.Outcome != huduma.OutcomeDuplicate {
			t.Fatalf("the pulled receipt of a query-settled prompt: %+v", s)
		}
		if p := mustPayment(t, l, "RCPT51"); p.Applied != 4600 {
			t.Fatalf("receipt learned: %+v", p)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.MpesaReceipt != "RCPT51" {
			t.Fatalf("invoice receipt %q", got.MpesaReceipt)
		}
		// The paybill confirmation (or the pull) first, the status query
		// after: matched, not applied twice.
		inv2, _ := prompt("300000052", "ws_CO_52")
		if s := c2b(t, l, "RCPT52", string(inv2.Number), 4600, "2547 ***** 678"); s.Outcome != huduma.OutcomePaid {
			t.Fatalf("c2b first: %+v", s)
		}
		if out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_52", ResultCode: "0", Amount: 4600}, texts{}); out != huduma.OutcomeDuplicate {
			t.Fatalf("query after the confirmation: %s", out)
		}
		// A late callback after the query brings the receipt.
		inv3, _ := prompt("300000053", "ws_CO_53")
		l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_53", ResultCode: "0", Amount: 4600}, texts{})
		if out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_53", ResultCode: "0", Amount: 4600, Receipt: "RCPT53"}, texts{}); out != huduma.OutcomeDuplicate {
			t.Fatalf("late callback: %s", out)
		}
		if p := mustPayment(t, l, "RCPT53"); p.Invoice != inv3.Number {
			t.Fatalf("late callback's receipt: %+v", p)
		}
		// The callback and the C2B confirmation of one STK payment.
		inv4, _ := prompt("300000054", "ws_CO_54")
		l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_54", ResultCode: "0", Amount: 4600, Receipt: "RCPT54"}, texts{})
		if s := c2b(t, l, "RCPT54", string(inv4.Number), 4600, ""); s.Outcome != huduma.OutcomeDuplicate {
			t.Fatalf("confirmation of a prompt's payment: %+v", s)
		}
		// A prompt for an invoice a paybill payment completed meanwhile:
		// the prompt's money is held, not lost.
		inv5, _ := prompt("300000055", "ws_CO_55")
		c2b(t, l, "RCPT55A", string(inv5.Number), 4600, "")
		out, _ := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_55", ResultCode: "0", Amount: 4600, Receipt: "RCPT55B", Phone: "254712345678"}, texts{})
		if p := mustPayment(t, l, "RCPT55B"); out != huduma.OutcomeSuspense || p.Reason != huduma.ReasonInvoicePaid || p.Phone != "+254712345678" {
			t.Fatalf("prompt after paybill: %s %+v", out, p)
		}
		if tot := balanced(t, l); tot.In != 6*4600 || tot.Applied != 5*4600 || tot.Payments != 6 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("CallbackAndPullAtOnceApplyOnce", func(t *testing.T) {
		l := ledgertest.New(open(t))
		const rounds = 12
		var invs []huduma.Invoice
		for i := 0; i < rounds; i++ {
			inv := create(t, l, testInvoice(fmt.Sprintf("3001%05d", i), time.Now()))
			a, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: fmt.Sprintf("ws_CO_r%d", i)}, time.Now())
			invs = append(invs, inv)
		}
		var wg sync.WaitGroup
		errs := make(chan error, rounds*8)
		for i, inv := range invs {
			trans := fmt.Sprintf("RACE%03d", i)
			for k := 0; k < 3; k++ { // the C2B confirmation, the pull worker, a statement
				wg.Go(func() {
					_, err := l.SettleC2B(ctx, huduma.C2BPayment{TransID: trans, Invoice: inv.Number, Amount: 4600, MSISDN: "254712345678", Source: huduma.SourcePull}, texts{})
					errs <- err
				})
			}
			wg.Go(func() { // the STK callback of the same payment, or (odd rounds) its status query: no receipt
				res := huduma.STKResult{CheckoutRequestID: fmt.Sprintf("ws_CO_r%d", i), ResultCode: "0", Amount: 4600, Receipt: trans}
				if i%2 == 1 {
					res.Receipt = ""
				}
				_, err := l.SettleSTK(ctx, res, texts{})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i, inv := range invs {
			got, _ := l.Invoice(ctx, inv.Number)
			if got.Status != huduma.InvoicePaid || got.Received != 4600 {
				t.Fatalf("round %d: %+v", i, got)
			}
			if msgs, _ := l.Messages(ctx, inv.Phone, 50); len(msgs) != rounds {
				// every invoice in this test has the same phone: one receipt each
				t.Fatalf("%d texts for %d invoices", len(msgs), rounds)
			}
		}
		for i := 1; i < rounds; i += 2 { // whichever came first, the payment has its receipt
			if p := mustPayment(t, l, fmt.Sprintf("RACE%03d", i)); p.Applied != 4600 {
				t.Fatalf("round %d: %+v", i, p)
			}
		}
		if tot := balanced(t, l); tot.Payments != rounds || tot.In != rounds*4600 || tot.Applied != tot.In {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("ReceiptAdoptedOnlyForTheSameAmount", func(t *testing.T) {
		l := ledgertest.New(open(t))
		prompt := func(number, checkout string) huduma.Invoice {
			t.Helper()
			inv := create(t, l, testInvoice(number, time.Now()))
			a, err := l.QueuePush(ctx, inv.Number, inv.Phone, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: checkout}, time.Now())
			// The status query settles it: paid, no receipt yet.
			if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: checkout, ResultCode: "0", Amount: 4600}, texts{}); out != huduma.OutcomePaid || err != nil {
				t.Fatalf("query success: %s %v", out, err)
			}
			return inv
		}
		// A late callback with another amount (forged or garbled) does not
		// give the prompt's payment its receipt; the true one does.
		inv := prompt("300000061", "ws_CO_61")
		if out, err := l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_61", ResultCode: "0", Amount: 1, Receipt: "FORGED61"}, texts{}); err != nil || out == huduma.OutcomePaid {
			t.Fatalf("late callback of KES 1: %s %v", out, err)
		}
		if _, err := l.PaymentByTrans(ctx, "FORGED61"); huduma.ErrorCode(err) != huduma.ENotFound {
			t.Fatalf("a callback of another amount named the prompt's payment: %v", err)
		}
		if p := mustPayment(t, l, "stk:ws_CO_61"); p.Amount != 4600 || !p.Provisional() {
			t.Fatalf("provisional payment %+v", p)
		}
		if got, _ := l.Invoice(ctx, inv.Number); got.MpesaReceipt != "" {
			t.Fatalf("invoice took the receipt of a callback of another amount: %+v", got)
		}
		l.SettleSTK(ctx, huduma.STKResult{CheckoutRequestID: "ws_CO_61", ResultCode: "0", Amount: 4600, Receipt: "TRUE61"}, texts{})
		if p := mustPayment(t, l, "TRUE61"); p.Invoice != inv.Number || p.Amount != 4600 {
			t.Fatalf("the true callback's receipt: %+v", p)
		}
		// A paybill payment (or a pull) for the same invoice from the same
		// number but of another amount is a payment of its own, held as
		// the invoice is paid; the prompt's payment keeps waiting for its
		// receipt, which one of the right amount brings.
		inv2 := prompt("300000062", "ws_CO_62")
		s := c2b(t, l, "OTHER62", string(inv2.Number), 100, "2547 ***** 678")
		if s.Outcome != huduma.OutcomeSuspense || s.Reason != huduma.ReasonInvoicePaid || s.Suspense != 100 {
			t.Fatalf("paybill payment of another amount: %+v", s)
		}
		if p := mustPayment(t, l, "OTHER62"); p.Amount != 100 || p.Provisional() {
			t.Fatalf("%+v", p)
		}
		if p := mustPayment(t, l, "stk:ws_CO_62"); p.Amount != 4600 {
			t.Fatalf("provisional payment %+v", p)
		}
		if s := c2b(t, l, "RCPT62", string(inv2.Number), 4600, "2547 ***** 678"); s.Outcome != huduma.OutcomeDuplicate {
			t.Fatalf("the prompt's own receipt: %+v", s)
		}
		if got, _ := l.Invoice(ctx, inv2.Number); got.MpesaReceipt != "RCPT62" {
			t.Fatalf("invoice receipt %q", got.MpesaReceipt)
		}
		if tot := balanced(t, l); tot.Payments != 3 || tot.In != 2*4600+100 || tot.Suspense != 100 {
			t.Fatalf("totals %+v", tot)
		}
	})
	t.Run("HostileInputs", func(t *testing.T) { runHostile(t, ledgertest.New(open(t))) })
	// The conservation property, as on the rules alone, through the
	// store's loading, locking and writing, with workers racing on
	// Postgres.
	t.Run("ConservationOverRandomSequences", func(t *testing.T) {
		l := ledgertest.New(open(t))
		clock := moneyprop.NewClock(time.Now())
		workers := 4
		if l.Backend() == "sqlite" {
			workers = 1 // one connection: workers would only queue
		}
		moneyprop.Run(t, l.WithClock(clock.Tick), clock, moneyprop.Options{Name: l.Backend(), Sequences: 2000, Workers: workers, NewInvoice: invoiceOf})
	})
}
