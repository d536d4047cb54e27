package huduma

import (
	"crypto/rand"
	"math/big"
	"time"
)

// InvoiceNumber is a 10-digit invoice number whose last digit is a Damm
// check digit, so a single mistyped digit or swapped pair on a keypad is
// caught before any lookup. It fits M-Pesa's 12-character AccountReference.
type InvoiceNumber string

// damm is the standard order-10 weakly totally anti-symmetric quasigroup.
var damm = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// DammDigit returns the check digit for a string of digits.
func DammDigit(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = damm[interim][digits[i]-'0']
	}
	return '0' + interim
}

// ParseInvoiceNumber checks shape and check digit. Spaces are ignored so
// "123 456 7890" from an SMS works.
func ParseInvoiceNumber(raw string) (InvoiceNumber, error) {
	b := make([]byte, 0, 10)
	for i := 0; i < len(raw) && len(b) <= 10; i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			b = append(b, c)
		case c == ' ':
		default:
			return "", Errorf(EInvalid, "That invoice number is not valid")
		}
	}
	if len(b) != 10 || DammDigit(string(b)) != '0' {
		return "", Errorf(EInvalid, "That invoice number is not valid")
	}
	return InvoiceNumber(b), nil
}

// NewInvoiceNumber makes a random valid number; the store's unique index
// decides whether it is free (callers retry on EConflict).
func NewInvoiceNumber() InvoiceNumber {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	body := big.NewInt(0).Add(n, big.NewInt(100_000_000)).String()
	return InvoiceNumber(body + string(DammDigit(body)))
}

// InvoiceStatus is where an invoice is in its life.
type InvoiceStatus string

// Invoice states: pending → paid | failed | cancelled | expired.
const (
	InvoicePending   InvoiceStatus = "pending"
	InvoicePaid      InvoiceStatus = "paid"
	InvoiceFailed    InvoiceStatus = "failed"
	InvoiceCancelled InvoiceStatus = "cancelled"
	InvoiceExpired   InvoiceStatus = "expired"
)

// Final reports whether no further payment can change the invoice.
func (s InvoiceStatus) Final() bool { return s == InvoicePaid || s == InvoiceExpired }

// Payable reports whether an invoice can still take a payment (it is not
// paid and not expired): the rule every channel offers "pay" by. The
// ledger enforces it again when it queues a prompt.
func (inv Invoice) Payable() bool { return !inv.Status.Final() }

// Invoice is a request to pay for one service.
type Invoice struct {
	Number      InvoiceNumber     `json:"number"`
	ServiceCode int               `json:"service_code"`
	ServiceName string            `json:"service_name"`
	Phone       MSISDN            `json:"phone"`
	Fields      map[string]string `json:"fields,omitempty"`
	// Fee, ConvenienceFee and Total are whole KES; Total = Fee + ConvenienceFee.
	Fee            int64 `json:"fee"`
	ConvenienceFee int64 `json:"convenience_fee"`
	Total          int64 `json:"total"`
	// Received is what payments have brought so far (they accumulate; the
	// invoice is paid when Received reaches Total).
	Received int64         `json:"received"`
	Status   InvoiceStatus `json:"status"`
	// Reason is the result code of the last failed attempt (e.g. "1032").
	Reason       string `json:"reason,omitempty"`
	MpesaReceipt string `json:"mpesa_receipt,omitempty"`
	// Bill is e-Citizen's bill number for the invoice when it is billed
	// through e-Citizen ("" on the ledger backend, and until e-Citizen
	// answered): the account a payer quotes there.
	Bill      string     `json:"bill,omitempty"`
	Language  Language   `json:"language"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	PaidAt    *time.Time `json:"paid_at,omitempty"`
	// Application is the number of the application a paid invoice opened,
	// so a receipt or status can say what to track. Reads by number fill
	// it in; it is empty before the invoice is paid.
	Application string `json:"application,omitempty"`
}

// Account is what a payer types as the account on any mobile-money rail:
// e-Citizen's bill number when the invoice is billed there, else the
// invoice's own number.
func (inv Invoice) Account() string {
	if inv.Bill != "" {
		return inv.Bill
	}
	return string(inv.Number)
}

// Due is the balance still to pay (0 once paid).
func (inv Invoice) Due() int64 { return max(inv.Total-inv.Received, 0) }
