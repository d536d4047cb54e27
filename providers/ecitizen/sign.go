package ecitizen

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// HashEncoding is how an HMAC-SHA256 is written into secureHash and
// secure_hash. Integrators disagree: the published test vectors are
// base64 of the 32-byte digest, while several independent integrations
// (PHP's hash_hmac default, .NET and Java code) and one notification
// captured from the live platform carry base64 of the lowercase hex
// digest. Which one e-Citizen checks on a checkout is to be confirmed
// with the integration pack.
type HashEncoding int

// The two encodings.
const (
	// HashDigest is base64(HMAC-SHA256(...)), as the published vectors.
	HashDigest HashEncoding = iota
	// HashHexDigest is base64(lowercase hex(HMAC-SHA256(...))).
	HashHexDigest
)

// ParseHashEncoding reads a configuration value: "digest" (or empty) or
// "hex".
func ParseHashEncoding(s string) (HashEncoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "digest":
		return HashDigest, nil
	case "hex":
		return HashHexDigest, nil
	}
	return 0, fmt.Errorf("ecitizen: secureHash encoding must be digest or hex")
}

// String names the encoding as ParseHashEncoding reads it.
func (e HashEncoding) String() string {
	if e == HashHexDigest {
		return "hex"
	}
	return "digest"
}

// Signer computes e-Citizen's hashes. The message is a plain UTF-8
// concatenation with no separators, the key is the API key.
type Signer struct {
	ClientID, APIKey, Secret string
	Encoding                 HashEncoding
}

// CheckoutFields are the checkout fields secureHash covers, exactly as
// they are sent (AmountExpected already "500.00").
type CheckoutFields struct {
	AmountExpected, ServiceID, ClientIDNumber, Currency, BillRefNumber, BillDesc, ClientName string
}

// Checkout returns a checkout's secureHash: the HMAC of apiClientID,
// amountExpected, serviceID, clientIDNumber, currency, billRefNumber,
// billDesc, clientName and the secret, in that order.
func (s Signer) Checkout(f CheckoutFields) string {
	return encode(s.mac(s.ClientID, f.AmountExpected, f.ServiceID, f.ClientIDNumber, f.Currency, f.BillRefNumber, f.BillDesc, f.ClientName, s.Secret), s.Encoding)
}

// Notification returns a notification's secure_hash: the HMAC of
// client_invoice_ref, invoice_number, amount_paid, payment_date and the
// secret, each exactly as sent.
func (s Signer) Notification(ref, invoiceNumber, amountPaid, paymentDate string) string {
	return encode(s.mac(ref, invoiceNumber, amountPaid, paymentDate, s.Secret), s.Encoding)
}

// VerifyNotification reports whether got is the notification's
// secure_hash in either encoding: which one the live platform sends is
// not settled (see HashEncoding), and accepting both costs nothing, since
// each needs the key. Both comparisons always run, in constant time.
func (s Signer) VerifyNotification(ref, invoiceNumber, amountPaid, paymentDate, got string) bool {
	if got == "" || s.APIKey == "" {
		return false
	}
	sum := s.mac(ref, invoiceNumber, amountPaid, paymentDate, s.Secret)
	a := subtle.ConstantTimeCompare([]byte(got), []byte(encode(sum, HashDigest)))
	b := subtle.ConstantTimeCompare([]byte(got), []byte(encode(sum, HashHexDigest)))
	return a|b == 1
}

func (s Signer) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(s.APIKey))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func encode(sum []byte, e HashEncoding) string {
	if e == HashHexDigest {
		return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum)))
	}
	return base64.StdEncoding.EncodeToString(sum)
}
