package huduma

import "time"

// A refund sends held money back to the payer through M-Pesa's
// transaction reversal. It is asynchronous: Daraja accepts the request,
// and the outcome arrives later on a callback. The refund's states make
// sure it is sent at most once: queued (recorded, with its job) → sending
// (claimed by one worker, committed before the call) → sent (Daraja
// accepted it) → succeeded | failed. A failed refund puts the money back
// in suspense with the reason; a refund whose request may or may not have
// reached Daraja stays sending, and is never sent again on its own.
//
// Until it succeeds or fails a refund is unresolved (queued, sending or
// sent), and so is its payment (refunding): nothing else is done with the
// money, neither a second refund nor an apply. A result on the queue
// timeout URL does not resolve it: Daraja may still carry the reversal
// out and say so later, so the refund stays as it was (the timeout is
// kept as its result so far), and its success, whenever it comes, moves the money
// to refunded exactly as an on-time one would.

// RefundStatus is where a refund is.
type RefundStatus string

// Refund states.
const (
	RefundQueued    RefundStatus = "queued"
	RefundSending   RefundStatus = "sending"
	RefundSent      RefundStatus = "sent"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund outcomes, as a reversal's result settles them.
const (
	OutcomeRefunded     Outcome = "refunded"
	OutcomeRefundFailed Outcome = "refund_failed"
	// OutcomeRefundTimedOut: the reversal timed out in Daraja's queue. It
	// is recorded and the refund stays on its way: its result may follow.
	OutcomeRefundTimedOut Outcome = "refund_timed_out"
)

// JobReversal sends a queued refund to Daraja.
const JobReversal JobKind = "reversal"

// RefundJob is the payload of a reversal job.
type RefundJob struct {
	RefundID int64 `json:"refund_id"`
	Tries    int   `json:"tries,omitempty"`
}

// Refund is one reversal of a payment's held money.
type Refund struct {
	ID      int64        `json:"id"`
	TransID string       `json:"trans_id"`
	Amount  int64        `json:"amount"`
	Status  RefundStatus `json:"status"`
	// RequestedBy names the officer (or API key) who asked.
	RequestedBy              string    `json:"requested_by,omitempty"`
	Remarks                  string    `json:"remarks,omitempty"`
	ConversationID           string    `json:"conversation_id,omitempty"`
	OriginatorConversationID string    `json:"originator_conversation_id,omitempty"`
	ResultCode               string    `json:"result_code,omitempty"`
	ResultDesc               string    `json:"result_desc,omitempty"`
	CreatedAt                time.Time `json:"created_at"`
	UpdatedAt                time.Time `json:"updated_at"`
}

// RefundRequest asks to refund a payment's held money.
type RefundRequest struct {
	TransID string
	// Key makes the request idempotent (an API Idempotency-Key, scoped to
	// its caller): the same key again returns the first refund.
	Key     string
	Actor   string
	Remarks string
}

// ReversalRequest is what the M-Pesa provider needs to reverse a payment.
type ReversalRequest struct {
	TransID string
	Amount  int64
	Remarks string
	// Occasion is our reference (the refund's id).
	Occasion string
}

// ReversalAccepted identifies a reversal Daraja accepted.
type ReversalAccepted struct {
	ConversationID           string
	OriginatorConversationID string
}

// ReversalResult is a reversal's outcome, from its result callback.
type ReversalResult struct {
	ConversationID           string
	OriginatorConversationID string
	// ResultCode "0" is success.
	ResultCode string
	ResultDesc string
	// OriginalTransID is the payment reversed, when the result names it.
	OriginalTransID string
	// TimedOut: the result came on the queue-timeout URL: not processed
	// yet, which is no answer (a result may still follow).
	TimedOut bool
}
