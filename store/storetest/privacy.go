package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// runPrivacy checks that what is private stays scoped and unreadable: an
// agency's one-time codes are its own, and an OTP's text leaves the
// outbox once it has been sent.
func runPrivacy(t *testing.T, open Opener) {
	ctx := context.Background()
	phone := huduma.MSISDN("+254712345678")
	otp := func(scope huduma.OTPScope) huduma.Message {
		return huduma.Message{To: scope.Phone, Kind: huduma.MessageOTP, Body: "sealed " + scope.Agency}
	}
	is := func(want string) func(string) bool { return func(h string) bool { return h == want } }
	t.Run("OTPsBelongToTheirAgency", func(t *testing.T) {
		l := open(t)
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
		l := open(t)
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

// bodyOf is the stored text of an outbox message.
func bodyOf(t *testing.T, l *sqlstore.DB, id int64) string {
	t.Helper()
	var body string
	if err := l.SQL().QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE id = $1`, id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	return body
}
