package huduma

import (
	"encoding/json"
	"time"
)

// Every shilling M-Pesa hands us is recorded once, by its M-Pesa
// transaction id, as a ReceivedPayment, and its amount is split into
// three buckets that always add up to it: applied to invoices, held in
// suspense (with the reason), refunded to the payer. The rule that
// decides the split is the accumulate rule: payments to an invoice add
// up; the invoice is paid when they reach its total; whatever a payment
// brings beyond the balance due is held in suspense for refund. Nothing
// that matches no payable invoice is ever dropped: it is held, the payer
// is told when their phone is known, and a finance officer applies it to
// an invoice or refunds it.

// PaymentState is where a received payment's money is.
type PaymentState string

// Payment states. A payment is applied when all of it went to invoices;
// in suspense while any of it is held (an overpayment's remainder, or a
// payment that matched nothing); refunding while a reversal of the held
// part is on its way (the money still counts as suspense until M-Pesa
// confirms); refunded once the held part went back to the payer.
const (
	PaymentApplied   PaymentState = "applied"
	PaymentSuspense  PaymentState = "suspense"
	PaymentRefunding PaymentState = "refunding"
	PaymentRefunded  PaymentState = "refunded"
)

// Open reports whether some of the payment is still held (suspense or
// refunding): an item on the finance officer's list.
func (s PaymentState) Open() bool { return s == PaymentSuspense || s == PaymentRefunding }

// SuspenseReason says why money is held.
type SuspenseReason string

// Suspense reasons.
const (
	// ReasonUnknownAccount: the account the payer typed names no invoice.
	ReasonUnknownAccount SuspenseReason = "unknown_account"
	// ReasonInvoicePaid: the invoice was already paid in full.
	ReasonInvoicePaid SuspenseReason = "invoice_paid"
	// ReasonInvoiceExpired: the invoice had expired.
	ReasonInvoiceExpired SuspenseReason = "invoice_expired"
	// ReasonOverpaid: the part of a payment beyond the balance due.
	ReasonOverpaid SuspenseReason = "overpaid"
	// ReasonRefundFailed: a reversal was refused or failed; the money is
	// held again (the note says what M-Pesa answered).
	ReasonRefundFailed SuspenseReason = "refund_failed"
	// ReasonBeforeUpgrade: a paybill payment the gateway recorded before
	// it kept a suspense ledger and did not apply.
	ReasonBeforeUpgrade SuspenseReason = "unmatched_before_upgrade"
)

// ParseSuspenseReason accepts the known reasons only.
func ParseSuspenseReason(s string) (SuspenseReason, error) {
	switch r := SuspenseReason(s); r {
	case ReasonUnknownAccount, ReasonInvoicePaid, ReasonInvoiceExpired, ReasonOverpaid, ReasonRefundFailed, ReasonBeforeUpgrade:
		return r, nil
	}
	return "", Errorf(EInvalid, "unknown suspense reason %q (want unknown_account, invoice_paid, invoice_expired, overpaid, refund_failed or unmatched_before_upgrade)", s)
}

// PaymentSource says how we learned of a payment.
type PaymentSource string

// Payment sources.
const (
	SourceSTK       PaymentSource = "stk"       // an STK prompt's callback or status query
	SourceC2B       PaymentSource = "c2b"       // a paybill confirmation callback
	SourcePull      PaymentSource = "pull"      // Daraja's Pull Transactions API (a missed confirmation)
	SourceStatement PaymentSource = "statement" // the organisation portal's statement (huduma reconcile --apply)
	SourceLegacy    PaymentSource = "legacy"    // recorded before the suspense ledger existed
	SourceECitizen  PaymentSource = "ecitizen"  // an e-Citizen payment notification (the ecitizen billing backend)
)

// ProvisionalPrefix starts the transaction id of a prompt's payment that a
// status query confirmed (the query carries no M-Pesa receipt): the row
// takes the real receipt when the callback, the pull worker or a statement
// brings it.
const ProvisionalPrefix = "stk:"

// ReceivedPayment is one M-Pesa transaction as the ledger holds it.
// Amount = Applied + Suspense + Refunded, always (the database checks it).
type ReceivedPayment struct {
	ID      int64         `json:"-"`
	TransID string        `json:"trans_id"`
	Source  PaymentSource `json:"source"`
	// Account is what the payer typed as the account (BillRefNumber).
	Account string `json:"account"`
	// Invoice is the invoice the account names, when one exists.
	Invoice InvoiceNumber `json:"invoice,omitempty"`
	// Agency is the code of the agency whose service the invoice is for.
	Agency   string         `json:"agency,omitempty"`
	Amount   int64          `json:"amount"`
	Applied  int64          `json:"applied"`
	Suspense int64          `json:"suspense"`
	Refunded int64          `json:"refunded"`
	State    PaymentState   `json:"state"`
	Reason   SuspenseReason `json:"reason,omitempty"`
	// Note is free text on the reason (what M-Pesa said of a failed refund).
	Note string `json:"note,omitempty"`
	// Payer is the paying number as M-Pesa sent it, masked.
	Payer string `json:"payer,omitempty"`
	// Phone is the payer's full number when known (an STK payer, an
	// unmasked MSISDN); only texts use it, never a page or log.
	Phone MSISDN `json:"-"`
	// Checkout is the CheckoutRequestID of the prompt the payment settled
	// ("" when it was made by hand).
	Checkout      string     `json:"-"`
	PaidAt        time.Time  `json:"paid_at"`
	ReceivedAt    time.Time  `json:"received_at"`
	SuspenseSince *time.Time `json:"suspense_since,omitempty"`
}

// Provisional reports whether the transaction id is a placeholder until
// the real M-Pesa receipt is known.
func (p ReceivedPayment) Provisional() bool {
	return len(p.TransID) > 4 && p.TransID[:4] == ProvisionalPrefix
}

// MarshalJSON writes the payment with any phone number the payer typed as
// the account masked (no page or JSON shows a full number).
func (p ReceivedPayment) MarshalJSON() ([]byte, error) {
	type plain ReceivedPayment
	q := plain(p)
	q.Account = Redact(q.Account)
	return json.Marshal(q)
}

// SuspenseFilter narrows the list of held payments.
type SuspenseFilter struct {
	// OlderThan keeps items held at least this long (0: any age).
	OlderThan time.Duration
	Reason    SuspenseReason
	Agency    string
	// Limit bounds the list (default 100, at most 1000).
	Limit int
}
