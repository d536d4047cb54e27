package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/ledgertest"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// runPrivacy checks that what is private stays scoped and unreadable: an
// agency's one-time codes are its own, an OTP's text leaves the outbox
// once it has been sent, and strangers can send a phone only so many
// M-Pesa prompts.
func runPrivacy(t *testing.T, open Opener) {
	runPromptCap(t, open)
	ctx := context.Background()
	phone := huduma.MSISDN("+254712345678")
	otp := func(scope huduma.OTPScope) huduma.Message {
		return huduma.Message{To: scope.Phone, Kind: huduma.MessageOTP, Body: "sealed " + scope.Agency}
	}
	is := func(want string) func(string) bool { return func(h string) bool { return h == want } }
	t.Run("OTPsBelongToTheirAgency", func(t *testing.T) {
		l := ledgertest.New(open(t))
		dis := huduma.OTPScope{Agency: "DIS", Phone: phone, Purpose: "login"}
		crs := huduma.OTPScope{Agency: "CRS", Phone: phone, Purpose: "login"}
		operator := huduma.OTPScope{Phone: phone, Purpose: "login"}
		if err := l.CreateOTP(ctx, dis, "dis-code", otp(dis)); err != nil {
			t.Fatal(err)
		}
		// Another agency's sends neither retire the code nor use its cap.
		for i := 0; i < sqlstore.OTPMaxSends; i++ {
			if err := l.CreateOTP(ctx, crs, "crs-code", otp(crs)); err != nil {
				t.Fatalf("CRS send %d: %v", i, err)
			}
		}
		if err := l.CreateOTP(ctx, crs, "crs-code", otp(crs)); huduma.ErrorCode(err) != huduma.ERateLimited {
			t.Fatalf("CRS over its cap: %v", err)
		}
		// Another agency's and an operator's guesses, even the right
		// code's hash, never touch it: no match, no try used, no lock.
		for i := 0; i < sqlstore.OTPMaxAttempts+1; i++ {
			for _, s := range []huduma.OTPScope{crs, operator} {
				if ok, err := l.VerifyOTP(ctx, s, is("dis-code")); ok || err != nil {
					t.Fatalf("%q verified DIS's code: %v %v", s.Agency, ok, err)
				}
			}
		}
		if ok, err := l.VerifyOTP(ctx, dis, is("dis-code")); !ok || err != nil {
			t.Fatalf("DIS's own code after others' guesses: %v %v", ok, err)
		}
		// DIS still has its own sends: the two it has left.
		for i := 1; i < sqlstore.OTPMaxSends; i++ {
			if err := l.CreateOTP(ctx, dis, "dis-code", otp(dis)); err != nil {
				t.Fatalf("DIS send %d after CRS's: %v", i+1, err)
			}
		}
		// Its cap counts every purpose: cycling purposes does not lift it.
		if err := l.CreateOTP(ctx, huduma.OTPScope{Agency: "DIS", Phone: phone, Purpose: "other"}, "x", otp(dis)); huduma.ErrorCode(err) != huduma.ERateLimited {
			t.Fatalf("DIS over its cap with another purpose: %v", err)
		}
		// And the tries of one agency lock only its own code.
		for i := 0; i < sqlstore.OTPMaxAttempts; i++ {
			l.VerifyOTP(ctx, crs, is("wrong"))
		}
		if err := l.CreateOTP(ctx, operator, "op-code", otp(operator)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := l.VerifyOTP(ctx, crs, is("crs-code")); ok {
			t.Fatal("CRS's code passed after five wrong tries")
		}
		if ok, err := l.VerifyOTP(ctx, operator, is("op-code")); !ok || err != nil {
			t.Fatalf("the operator's code after CRS's lockout: %v %v", ok, err)
		}
	})
	t.Run("OTPTextLeavesTheOutboxOnceSent", func(t *testing.T) {
		l := ledgertest.New(open(t))
		scope := huduma.OTPScope{Agency: "DIS", Phone: phone, Purpose: "login"}
		for _, p := range []string{"a", "b", "c"} {
			scope.Purpose = p
			if err := l.CreateOTP(ctx, scope, "h-"+p, huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: "code text " + p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageNotice, Body: "a notice"}, ""); err != nil {
			t.Fatal(err)
		}
		msgs, err := l.ClaimMessages(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 4 {
			t.Fatalf("claim: %d %v", len(msgs), err)
		}
		byBody := map[string]int64{}
		for _, m := range msgs {
			byBody[m.Body] = m.ID
		}
		// Retried: the text is still needed.
		if err := l.MessageRetry(ctx, byBody["code text a"], time.Now(), "timed out"); err != nil {
			t.Fatal(err)
		}
		if got := bodyOf(t, l, byBody["code text a"]); got != "code text a" {
			t.Fatalf("a retried OTP's text is %q", got)
		}
		if err := l.MessagesSent(ctx, []huduma.Sent{{ID: byBody["code text a"], ProviderID: "P-a"}, {ID: byBody["a notice"], ProviderID: "P-n"}}); err != nil {
			t.Fatal(err)
		}
		if err := l.MessageFinal(ctx, byBody["code text b"], huduma.MsgFailed, "refused"); err != nil {
			t.Fatal(err)
		}
		if err := l.MessageFinal(ctx, byBody["code text c"], huduma.MsgRecorded, ""); err != nil {
			t.Fatal(err)
		}
		for body, want := range map[string]string{"code text a": huduma.OTPRemoved, "code text b": huduma.OTPRemoved,
			"code text c": "code text c", "a notice": "a notice"} {
			if got := bodyOf(t, l, byBody[body]); got != want {
				t.Errorf("%q became %q, want %q", body, got, want)
			}
		}
	})
}

// runPromptCap checks the cap on prompts strangers send one phone.
func runPromptCap(t *testing.T, open Opener) {
	ctx := context.Background()
	const target = huduma.MSISDN("+254722000001")
	// invoices makes n pending invoices, each of another owner.
	invoices := func(t *testing.T, l ledgertest.Ledger, first, n int) []huduma.Invoice {
		t.Helper()
		var out []huduma.Invoice
		for i := first; i < first+n; i++ {
			inv := testInvoice(fmt.Sprintf("7%08d", i), time.Now())
			inv.Phone = huduma.MSISDN(fmt.Sprintf("+2547110%05d", i))
			if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
				t.Fatal(err)
			}
			out = append(out, inv)
		}
		return out
	}
	prompts := func(t *testing.T, l ledgertest.Ledger) int {
		t.Helper()
		var n int
		if err := l.SQL().QueryRowContext(ctx, `SELECT count(*) FROM payment_attempts WHERE payer = $1`, string(target)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("StrangersPromptsAreCapped", func(t *testing.T) {
		l := ledgertest.New(open(t))
		l.Cap = 3
		invs := invoices(t, l, 1, 6)
		for i := 0; i < 3; i++ {
			if _, err := l.QueuePush(ctx, invs[i].Number, target, time.Now(), ""); err != nil {
				t.Fatalf("stranger prompt %d: %v", i+1, err)
			}
		}
		_, err := l.QueuePush(ctx, invs[3].Number, target, time.Now(), "")
		if huduma.ErrorCode(err) != huduma.ERateLimited {
			t.Fatalf("a fourth stranger prompt in the hour: %v, want rate limited", err)
		}
		if strings.Contains(err.Error(), target.Digits()[3:]) {
			t.Fatalf("the refusal names the full phone number: %v", err)
		}
		// A refused invoice with its prompt changes nothing.
		fresh := testInvoice("799999999", time.Now())
		fresh.Phone = "+254711099999"
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: fresh, Push: &huduma.PushPlan{Payer: target, RunAt: time.Now()}}); huduma.ErrorCode(err) != huduma.ERateLimited {
			t.Fatalf("an invoice with a stranger's prompt over the cap: %v", err)
		}
		if _, err := l.Invoice(ctx, fresh.Number); huduma.ErrorCode(err) != huduma.ENotFound {
			t.Fatalf("the refused invoice was stored: %v", err)
		}
		if n := prompts(t, l); n != 3 {
			t.Fatalf("%d prompts to the target, want 3", n)
		}
		// Not strangers, so neither refused nor counted: the target's own
		// invoice, a prompt it asked for itself, a prompt to the invoice's
		// own phone.
		own := testInvoice("798888888", time.Now())
		own.Phone = target
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: own, Push: &huduma.PushPlan{Payer: target, RunAt: time.Now()}}); err != nil {
			t.Fatalf("the target's own invoice: %v", err)
		}
		if _, err := l.QueuePushByPayer(ctx, invs[4].Number, target, time.Now(), ""); err != nil {
			t.Fatalf("a prompt the target asked for: %v", err)
		}
		if _, err := l.QueuePush(ctx, invs[5].Number, invs[5].Phone, time.Now(), ""); err != nil {
			t.Fatalf("a prompt to the invoice's phone: %v", err)
		}
		if _, err := l.QueuePush(ctx, invs[3].Number, target, time.Now(), ""); huduma.ErrorCode(err) != huduma.ERateLimited {
			t.Fatalf("own prompts lifted the cap: %v", err)
		}
		// An hour on, the target may be prompted again.
		later := l.WithClock(func() time.Time { return time.Now().Add(huduma.PromptCapWindow + time.Minute) })
		next := testInvoice("797777777", time.Now())
		next.Phone, next.ExpiresAt = "+254711077777", time.Now().Add(3*time.Hour)
		if _, _, err := later.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: next, Push: &huduma.PushPlan{Payer: target, RunAt: time.Now()}}); err != nil {
			t.Fatalf("an hour later: %v", err)
		}
		// No cap at all when it is off.
		l.Cap = 0
		extra := invoices(t, l, 20, 1)
		if _, err := l.QueuePush(ctx, extra[0].Number, target, time.Now(), ""); err != nil {
			t.Fatalf("with the cap off: %v", err)
		}
	})
	t.Run("StrangersPromptCapHoldsUnderRace", func(t *testing.T) {
		l := ledgertest.New(open(t))
		l.Cap = 3
		invs := invoices(t, l, 100, 24)
		var wg sync.WaitGroup
		var ok, refused atomic.Int32
		start := make(chan struct{})
		for i, inv := range invs {
			wg.Go(func() {
				<-start
				var err error
				if i%2 == 0 {
					_, err = l.QueuePush(ctx, inv.Number, target, time.Now(), "")
				} else {
					// An invoice made with its prompt, as "Pay from another
					// number" does.
					fresh := testInvoice(fmt.Sprintf("76%07d", i), time.Now())
					fresh.Phone = inv.Phone
					_, _, err = l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: fresh, Push: &huduma.PushPlan{Payer: target, RunAt: time.Now()}})
				}
				switch huduma.ErrorCode(err) {
				case "":
					ok.Add(1)
				case huduma.ERateLimited:
					refused.Add(1)
				default:
					t.Errorf("prompt %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 3 || refused.Load() != int32(len(invs))-3 || prompts(t, l) != 3 {
			t.Fatalf("%d prompts queued, %d refused, %d stored; want 3, %d, 3", ok.Load(), refused.Load(), prompts(t, l), len(invs)-3)
		}
	})
}

// bodyOf is the stored text of an outbox message.
func bodyOf(t *testing.T, l ledgertest.Ledger, id int64) string {
	t.Helper()
	var body string
	if err := l.SQL().QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE id = $1`, id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	return body
}
