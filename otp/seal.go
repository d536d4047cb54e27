package otp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// A one-time code's SMS waits in the outbox until a worker sends it, and
// the outbox is a table anyone with database access can read. So its text
// is sealed (AES-256-GCM) when it is queued, opened only by the sender
// wrapper on its way to the provider, and replaced by huduma.OTPRemoved
// once sent. The key is derived from HUDUMA_OTP_SECRET, which every
// instance shares and which already keys the codes' hashes: whoever holds
// it could test the million codes against a hash anyway, so sealing with
// it exposes nothing new.

// sealedPrefix starts a sealed body. « is not GSM-7 and every text the
// gateway sends is folded to GSM-7, so no real text starts with it.
const sealedPrefix = "«sealed:v1»"

// ErrUnsealable is a sealed text that cannot be opened: the secret
// changed since it was sealed, or the text was altered.
var ErrUnsealable = errors.New("sealed text cannot be opened (was HUDUMA_OTP_SECRET changed?)")

// Sealer seals and opens texts with a key derived from the OTP secret.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns the sealer for secret.
func NewSealer(secret []byte) *Sealer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("huduma outbox seal v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal returns text sealed.
func (s *Sealer) Seal(text string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(text), nil)), nil
}

// Sealed reports whether body is a sealed text.
func Sealed(body string) bool { return strings.HasPrefix(body, sealedPrefix) }

// Open returns the text of a sealed body, and any other body as it is.
func (s *Sealer) Open(body string) (string, error) {
	if !Sealed(body) {
		return body, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(body[len(sealedPrefix):])
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", ErrUnsealable
	}
	n := s.aead.NonceSize()
	text, err := s.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrUnsealable
	}
	return string(text), nil
}

// Unsealing opens sealed texts before send sends them. A text that cannot
// be opened fails for good, without reaching the provider. A nil send (the
// record-only outbox) stays nil.
func Unsealing(send providers.SMSSender, s *Sealer) providers.SMSSender {
	if send == nil {
		return nil
	}
	return unsealing{send, s}
}

type unsealing struct {
	send providers.SMSSender
	s    *Sealer
}

func (u unsealing) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	text, err := u.s.Open(text)
	if err != nil {
		return "", providers.Permanent(err.Error())
	}
	return u.send.Send(ctx, to, text)
}
