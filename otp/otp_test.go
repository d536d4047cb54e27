package otp

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

const phone = huduma.MSISDN("+254708374149")

var codeInSMS = regexp.MustCompile(`code is (\d{6})\.`)

// TestOTPLifecycle covers what the HTTP tests cannot wait for: expiry,
// and that only a keyed hash is stored.
func TestOTPLifecycle(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	secret := []byte("unit-test-otp-secret-0123456789")
	otp := New(l, secret)
	ctx := context.Background()
	login := huduma.OTPScope{Phone: phone, Purpose: "login"}
	lastCode := func() string {
		msgs, _ := l.Messages(ctx, phone, 1)
		if codeInSMS.MatchString(msgs[0].Body) || !Sealed(msgs[0].Body) {
			t.Fatalf("the code is readable in the outbox: %q", msgs[0].Body)
		}
		text, err := NewSealer(secret).Open(msgs[0].Body)
		m := codeInSMS.FindStringSubmatch(text)
		if err != nil || m == nil || msgs[0].Kind != huduma.MessageOTP {
			t.Fatalf("no code in %+v (%q, %v)", msgs[0], text, err)
		}
		return m[1]
	}
	if err := otp.SendOTP(ctx, "", phone, "Login"); huduma.ErrorCode(err) != huduma.EInvalid {
		t.Fatalf("bad purpose: %v", err)
	}
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	code := lastCode()
	if h := otp.hash(login, code); strings.Contains(h, code) || len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	if otp.hash(login, code) == New(l, []byte("another-secret-entirely-000000")).hash(login, code) {
		t.Fatal("the hash does not depend on the secret")
	}
	// A new code retires the old one.
	c.Add(time.Minute)
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	fresh := lastCode()
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", code); ok && code != fresh {
		t.Fatal("a retired code passed")
	}
	// Expiry: five minutes.
	c.Add(5*time.Minute + time.Second)
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", fresh); ok {
		t.Fatal("an expired code passed")
	}
	// Malformed guesses use attempts like any other.
	c.Add(10 * time.Minute) // out of the send window
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	code = lastCode()
	for _, g := range []string{"", "12", "abcdef", "1234567", "12345"} {
		if ok, err := otp.VerifyOTP(ctx, "", phone, "login", g); ok || err != nil {
			t.Fatalf("%q: %v %v", g, ok, err)
		}
	}
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", code); ok {
		t.Fatal("the right code passed after five malformed guesses")
	}
}
