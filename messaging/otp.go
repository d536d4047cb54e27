package messaging

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// OTPStore is the part of the ledger OTPs use.
type OTPStore interface {
	CreateOTP(ctx context.Context, phone huduma.MSISDN, purpose, hash string, msg huduma.Message) error
	VerifyOTP(ctx context.Context, phone huduma.MSISDN, purpose string, match func(hash string) bool) (bool, error)
}

// OTP issues and checks one-time passwords. Codes are never stored: only
// an HMAC of phone, purpose and code keyed by HUDUMA_OTP_SECRET, so a
// database leak does not leak codes.
type OTP struct {
	st     OTPStore
	secret []byte
}

// NewOTP returns an OTP service keyed by secret.
func NewOTP(st OTPStore, secret []byte) *OTP { return &OTP{st: st, secret: secret} }

var purposeRE = regexp.MustCompile(`^[a-z0-9_.-]{1,32}$`)

func (o *OTP) hash(phone huduma.MSISDN, purpose, code string) string {
	m := hmac.New(sha256.New, o.secret)
	fmt.Fprintf(m, "%s\x00%s\x00%s", phone, purpose, code)
	return hex.EncodeToString(m.Sum(nil))
}

// SendOTP texts a fresh 6-digit code for purpose (5 minutes, single use).
// More than 3 codes to one phone in 10 minutes is ERateLimited.
func (o *OTP) SendOTP(ctx context.Context, phone huduma.MSISDN, purpose string) error {
	if !purposeRE.MatchString(purpose) {
		return huduma.Errorf(huduma.EInvalid, "purpose must be 1-32 lower-case letters, digits, '.', '_' or '-'")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("draw otp: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	msg := huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: texts.OTPSMS(code, huduma.English)}
	return o.st.CreateOTP(ctx, phone, purpose, o.hash(phone, purpose, code), msg)
}

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// VerifyOTP reports whether code is the phone's live code for purpose. The
// hashes are compared in constant time; a wrong code uses one of five
// attempts; a right one is spent.
func (o *OTP) VerifyOTP(ctx context.Context, phone huduma.MSISDN, purpose, code string) (bool, error) {
	if !purposeRE.MatchString(purpose) {
		return false, huduma.Errorf(huduma.EInvalid, "purpose must be 1-32 lower-case letters, digits, '.', '_' or '-'")
	}
	want := o.hash(phone, purpose, code)
	if !codeRE.MatchString(code) {
		want = "" // still spend an attempt: guessing malformed codes is guessing
	}
	return o.st.VerifyOTP(ctx, phone, purpose, func(hash string) bool {
		return hmac.Equal([]byte(hash), []byte(want))
	})
}
