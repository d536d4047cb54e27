package huduma

import "time"

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

// PromptLife is how long a prompt may stay unanswered before a new one
// may replace it. M-Pesa gives up on a prompt well before this (after
// roughly one to two minutes), so it is also when the payments worker
// stops asking Daraja about one.
const PromptLife = 3 * time.Minute

// PushPlan schedules a prompt.
type PushPlan struct {
	Payer MSISDN
	RunAt time.Time
}
