package huduma

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AttemptStatus is where one M-Pesa prompt (STK push) is.
type AttemptStatus string

// Attempt states: queued (job waiting for MPESA_STK_DELAY) → sent (Daraja
// accepted it) → succeeded | failed; rejected when the invoice was paid or
// expired before the push; unsent when the prompt will never come (Daraja
// refused it, an outage outlasted its tries, or it would have come too
// late) and the payer was texted how to pay instead; stale when it never
// got a final answer and a new prompt replaced it.
const (
	AttemptQueued    AttemptStatus = "queued"
	AttemptSent      AttemptStatus = "sent"
	AttemptSucceeded AttemptStatus = "succeeded"
	AttemptFailed    AttemptStatus = "failed"
	AttemptRejected  AttemptStatus = "rejected"
	AttemptUnsent    AttemptStatus = "unsent"
	AttemptStale     AttemptStatus = "stale"
)

// InFlight reports whether the prompt may still be answered.
func (s AttemptStatus) InFlight() bool { return s == AttemptQueued || s == AttemptSent }

// Attempt is one STK push for an invoice.
type Attempt struct {
	ID                int64
	Invoice           InvoiceNumber
	Payer             MSISDN
	Amount            int64
	Status            AttemptStatus
	CheckoutRequestID string
	MerchantRequestID string
	ResultCode        string
	ResultDesc        string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// STKPush is what the payment provider needs to prompt a phone.
type STKPush struct {
	Phone MSISDN
	// Amount is whole shillings.
	Amount int64
	// Reference is the invoice number (M-Pesa AccountReference).
	Reference   string
	Description string
}

// STKPushResult identifies an accepted prompt.
type STKPushResult struct {
	CheckoutRequestID string
	MerchantRequestID string
}

// STKResult is the outcome of a prompt, from a callback or a query.
type STKResult struct {
	CheckoutRequestID string
	// Pending is true while the customer has not answered (query only).
	Pending bool
	// ResultCode "0" is success; others are Daraja's failure codes.
	ResultCode string
	ResultDesc string
	// Receipt, Amount, Phone and PaidAt come with a successful callback.
	Receipt string
	Amount  int64
	Phone   string
	PaidAt  time.Time
}

// MessageKind says why an SMS is sent, which sets its priority and whether
// an opted-out phone still gets it.
type MessageKind string

// Message kinds. OTPs and receipts go first and ignore STOP.
const (
	MessageOTP     MessageKind = "otp"
	MessageReceipt MessageKind = "receipt"
	MessageInvoice MessageKind = "invoice"
	MessageReply   MessageKind = "reply"
	MessageNotice  MessageKind = "notice"
	// MessagePayment tells a payer what happened to their money (a
	// balance due, money held, a refund): like a receipt, it ignores STOP.
	MessagePayment MessageKind = "payment"
)

// Priority orders the outbox: lower is sent first.
func (k MessageKind) Priority() int {
	switch k {
	case MessageOTP:
		return 0
	case MessageReceipt, MessagePayment:
		return 1
	case MessageInvoice, MessageReply:
		return 2
	}
	return 3
}

// Message is an SMS in the outbox.
type Message struct {
	ID     int64
	To     MSISDN
	Body   string
	Kind   MessageKind
	Status MessageStatus
	// Parts is how many SMS the body takes (billing counts parts).
	Parts     int
	CreatedAt time.Time
}

// resultTexts are M-Pesa outcomes in plain words (GSM-7, short).
var resultTexts = map[string][2]string{
	"0":    {"Paid", "Imelipwa"},
	"1":    {"Not enough money in M-Pesa", "Salio la M-Pesa halitoshi"},
	"17":   {"Same payment made a moment ago", "Malipo sawa yalifanywa sasa hivi"},
	"1019": {"The prompt expired before you paid", "Ombi liliisha muda kabla ya kulipa"},
	"1025": {"M-Pesa could not send the prompt", "M-Pesa haikuweza kutuma ombi"},
	"1032": {"You cancelled the M-Pesa prompt", "Ulighairi ombi la M-Pesa"},
	"1037": {"Your phone could not be reached", "Simu yako haikupatikana"},
	"2001": {"Wrong M-Pesa PIN", "PIN ya M-Pesa si sahihi"},
}

// ResultText says what an M-Pesa result code means, in lang.
func ResultText(code string, lang Language) string {
	t, ok := resultTexts[code]
	if !ok {
		t = [2]string{"M-Pesa did not complete the payment", "M-Pesa haikukamilisha malipo"}
	}
	if lang == Kiswahili {
		return t[1]
	}
	return t[0]
}

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

// InvoiceRequest asks for a new invoice.
type InvoiceRequest struct {
	ServiceCode int
	// Phone owns the invoice (gets the SMS); Payer gets the M-Pesa prompt.
	Phone  MSISDN
	Payer  MSISDN
	Fields map[string]string
	Lang   Language
	// Push asks for an M-Pesa prompt (only Safaricom payers get one).
	Push bool
	// SkipInvoiceSMS leaves out the invoice SMS: the caller's own reply
	// carries the invoice and how to pay it (the SMS channel answering the
	// text that asked for it), so the phone does not get it twice.
	SkipInvoiceSMS bool
	// Key makes the request idempotent (a retried USSD hop, an API
	// Idempotency-Key); it is already scoped to its caller.
	Key string
	// RequestHash identifies the request Key was made for: the same key
	// with another hash is refused (EKeyReused). Empty means unchecked.
	RequestHash string
}

// ApplicationStatus is where an application is in its life.
type ApplicationStatus string

// Application states, in their usual order.
const (
	AppSubmitted ApplicationStatus = "submitted"
	AppInReview  ApplicationStatus = "in_review"
	AppApproved  ApplicationStatus = "approved"
	AppRejected  ApplicationStatus = "rejected"
	AppReady     ApplicationStatus = "ready_for_collection"
	AppCollected ApplicationStatus = "collected"
)

// ParseApplicationStatus accepts the known states only.
func ParseApplicationStatus(s string) (ApplicationStatus, error) {
	switch st := ApplicationStatus(s); st {
	case AppSubmitted, AppInReview, AppApproved, AppRejected, AppReady, AppCollected:
		return st, nil
	}
	return "", Errorf(EInvalid, "unknown application status %q", s)
}

// applicationWords name application states for people, in English and
// Kiswahili.
var applicationWords = map[ApplicationStatus][2]string{
	AppSubmitted: {"SUBMITTED", "IMEWASILISHWA"}, AppInReview: {"IN REVIEW", "INAKAGULIWA"},
	AppApproved: {"APPROVED", "IMEIDHINISHWA"}, AppRejected: {"REJECTED", "IMEKATALIWA"},
	AppReady: {"READY FOR COLLECTION", "TAYARI KUCHUKULIWA"}, AppCollected: {"COLLECTED", "IMECHUKULIWA"},
}

// Word names the state in lang, as USSD screens and SMS show it.
func (s ApplicationStatus) Word(lang Language) string {
	w := applicationWords[s]
	if lang == Kiswahili {
		return w[1]
	}
	return w[0]
}

// Application is a request for a service being processed by an agency.
type Application struct {
	Number      string            `json:"number"`
	ServiceCode int               `json:"service_code"`
	ServiceName string            `json:"service_name"`
	Phone       MSISDN            `json:"phone"`
	Reference   string            `json:"reference,omitempty"`
	Invoice     string            `json:"invoice,omitempty"`
	Status      ApplicationStatus `json:"status"`
	Note        string            `json:"note,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	History     []AppEvent        `json:"history,omitempty"`
}

// AppEvent is one status change of an application.
type AppEvent struct {
	Status ApplicationStatus `json:"status"`
	Note   string            `json:"note,omitempty"`
	At     time.Time         `json:"at"`
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
