// Package otp issues and checks the one-time codes agencies ask for by
// SMS, and seals a code's text while it waits in the outbox.
package otp

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
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/texts"
)

// Store is the part of the ledger OTPs use.
type Store interface {
	CreateOTP(ctx context.Context, scope huduma.OTPScope, hash string, msg huduma.Message) error
	VerifyOTP(ctx context.Context, scope huduma.OTPScope, match func(hash string) bool) (bool, error)
}

// Codes issues and checks one-time passwords. Codes are never stored
// readable: the code row keeps only an HMAC of its scope and code keyed by
// HUDUMA_OTP_SECRET, and its SMS waits in the outbox sealed (Sealer), so
// a database leak does not leak codes.
type Codes struct {
	st     Store
	secret []byte
	seal   *Sealer
}

// New returns the one-time code service, keyed by secret.
func New(st Store, secret []byte) *Codes {
	return &Codes{st: st, secret: secret, seal: NewSealer(secret)}
}

var purposeRE = regexp.MustCompile(`^[a-z0-9_.-]{1,32}$`)

// hash keys a code to its whole scope. An operator's scope hashes as
// codes did before agencies had their own, so codes issued just before an
// upgrade still verify.
func (o *Codes) hash(scope huduma.OTPScope, code string) string {
	m := hmac.New(sha256.New, o.secret)
	if scope.Agency != "" {
		fmt.Fprintf(m, "%s\x00", scope.Agency)
	}
	fmt.Fprintf(m, "%s\x00%s\x00%s", scope.Phone, scope.Purpose, code)
	return hex.EncodeToString(m.Sum(nil))
}

// SendOTP texts a fresh 6-digit code for scope (5 minutes, single use).
// More than 3 codes to one phone in one agency's name in 10 minutes is
// ERateLimited.
func (o *Codes) SendOTP(ctx context.Context, agency string, phone huduma.MSISDN, purpose string) error {
	if !purposeRE.MatchString(purpose) {
		return huduma.Errorf(huduma.EInvalid, "purpose must be 1-32 lower-case letters, digits, '.', '_' or '-'")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("draw otp: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	text := texts.OTPSMS(code, huduma.English)
	body, err := o.seal.Seal(text)
	if err != nil {
		return err
	}
	scope := huduma.OTPScope{Agency: agency, Phone: phone, Purpose: purpose}
	msg := huduma.Message{To: phone, Kind: huduma.MessageOTP, Body: body, Parts: gsm7.SMSParts(text)}
	return o.st.CreateOTP(ctx, scope, o.hash(scope, code), msg)
}

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// VerifyOTP reports whether code is the live code of the agency's scope
// for phone and purpose. The hashes are compared in constant time; a
// wrong code uses one of five attempts of that scope's code only; a right
// one is spent.
func (o *Codes) VerifyOTP(ctx context.Context, agency string, phone huduma.MSISDN, purpose, code string) (bool, error) {
	if !purposeRE.MatchString(purpose) {
		return false, huduma.Errorf(huduma.EInvalid, "purpose must be 1-32 lower-case letters, digits, '.', '_' or '-'")
	}
	scope := huduma.OTPScope{Agency: agency, Phone: phone, Purpose: purpose}
	want := o.hash(scope, code)
	if !codeRE.MatchString(code) {
		want = "" // still spend an attempt: guessing malformed codes is guessing
	}
	return o.st.VerifyOTP(ctx, scope, func(hash string) bool {
		return hmac.Equal([]byte(hash), []byte(want))
	})
}
