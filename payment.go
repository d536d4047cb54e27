package huduma

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PaybillPayment is a payment made by hand to the paybill (M-Pesa C2B),
// with the invoice number typed as the account.
type PaybillPayment struct {
	TransID string
	Account string
	Amount  int64
	// MSISDN is as Daraja sends it: usually masked ("2547 ***** 126").
	MSISDN string
	At     time.Time
}

// WholeShillings parses "10", "10.00" or "10.0" as 10 and refuses "10.50":
// Huduma's money is whole shillings, and a fraction means something is off,
// so it is an error, never rounded. Only digits are read: a sign ("-0",
// "+5") is refused, so a negative amount never passes for its absolute
// value. Providers' amounts (Daraja's callbacks and pulls, the portal's
// statement) all come through it.
func WholeShillings(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Trim(frac, "0") != "" {
		return 0, fmt.Errorf("%q is not whole shillings", s)
	}
	if whole == "" || strings.Trim(whole, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	return n, nil
}

// MaxPayment is the most one M-Pesa payment can carry, in whole
// shillings: M-Pesa's per-transaction maximum (KES 250,000, as
// integrators publish it; Safaricom's own API pages do not state it). An
// amount above it is no M-Pesa payment, whatever sent it, so the ledger
// refuses it at every entry; with every payment under it, no sum the
// ledger or a report makes can overflow an int64.
const MaxPayment int64 = 250_000

// CheckPayment refuses (EInvalid) an amount that cannot be one M-Pesa
// payment: less than KES 1 or more than MaxPayment.
func CheckPayment(amount int64) error {
	if amount < 1 || amount > MaxPayment {
		return Errorf(EInvalid, "KES %d is not an M-Pesa payment (one payment is KES 1 to %d)", amount, MaxPayment)
	}
	return nil
}

// PaymentAmount parses a provider's amount of one payment: whole
// shillings (WholeShillings) that CheckPayment accepts.
func PaymentAmount(s string) (int64, error) {
	n, err := WholeShillings(s)
	if err != nil {
		return 0, err
	}
	return n, CheckPayment(n)
}

// NormalizeTransID returns an M-Pesa transaction id in the one form the
// ledger keeps it in: trimmed and upper case. M-Pesa writes its ids in
// upper-case letters and digits, so "rktqdm7w6s" and "RKTQDM7W6S" are one
// payment, and every entry (a callback, a pull, a statement, an
// officer's command) goes through this before the ledger sees the id. A
// provisional id (ProvisionalPrefix and Daraja's CheckoutRequestID, which
// is case-sensitive) is only trimmed.
func NormalizeTransID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, ProvisionalPrefix) {
		return s
	}
	return strings.ToUpper(s)
}

// ParseTransID reads an M-Pesa transaction id from a provider:
// normalised (NormalizeTransID), then 1 to 32 letters and digits, or
// EInvalid.
func ParseTransID(s string) (string, error) {
	id := NormalizeTransID(s)
	if id == "" || len(id) > 32 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return "", Errorf(EInvalid, "%q is not an M-Pesa transaction id (letters and digits)", CleanLine(s))
	}
	return id, nil
}

// C2BPayment is a paybill payment made by hand (or found by the pull
// worker or in a statement), matched to the invoice its account names.
type C2BPayment struct {
	TransID string
	// Invoice is the invoice number the account parses as ("" if none).
	Invoice InvoiceNumber
	// Account is what the payer typed (kept as evidence; "" = Invoice).
	Account string
	Amount  int64
	// MSISDN is as M-Pesa sent it, usually masked.
	MSISDN string
	// Phone is the payer's full number, when MSISDN was not masked.
	Phone  MSISDN
	PaidAt time.Time
	// Source is how we learned of it (default SourceC2B).
	Source PaymentSource
}
