package huduma

import "time"

// The types the money and messaging records are written and read in:
// the services (payments, messaging) speak them, the store implements
// them. Nothing here touches a database.

// InvoiceOrder is everything written when an invoice is created, in one
// transaction.
type InvoiceOrder struct {
	Invoice Invoice
	// Key makes creation idempotent: a second call with the same key
	// returns the first invoice and writes nothing (a retried USSD hop).
	Key string
	// RequestHash is the hash of the request Key was made for; a second
	// call with the key and a different non-empty hash gets EKeyReused.
	RequestHash string
	// Message is the invoice SMS (paybill instructions), if any.
	Message *Message
	// Push, when set, queues an M-Pesa prompt to Payer at RunAt.
	Push *PushPlan
	// Checkout, when set, queues the job that bills the invoice on
	// e-Citizen (the ecitizen backend, which sends no Push of its own).
	Checkout *CheckoutJob
}

// CheckoutJob is the payload of a JobCheckout: the invoice to bill, and
// whether e-Citizen is asked to send the payer a prompt.
type CheckoutJob struct {
	Invoice InvoiceNumber `json:"invoice"`
	// Payer is the phone billed (clientMSISDN), and prompted when Prompt.
	Payer MSISDN `json:"payer"`
	// Prompt asks e-Citizen for a prompt (sendSTK): only for a phone a
	// prompt can reach.
	Prompt bool `json:"prompt,omitempty"`
	// Asked records, before the call that carries it, that a prompt was
	// asked for: a later try never asks again, since e-Citizen may have
	// sent it even when its answer was lost.
	Asked bool `json:"asked,omitempty"`
}

// CheckoutDedupe is the dedupe key of an invoice's checkout job: one per
// invoice, whatever repeats.
func CheckoutDedupe(n InvoiceNumber) string { return "checkout:" + string(n) }

// PushPlan schedules a prompt.
type PushPlan struct {
	Payer MSISDN
	RunAt time.Time
}

// PromptLife is how long a prompt may stay unanswered before a new one
// may replace it. M-Pesa gives up on a prompt well before this (after
// roughly one to two minutes), so it is also when the payments worker
// stops asking Daraja about one.
const PromptLife = 3 * time.Minute

// Outcome says what a settlement did.
type Outcome string

// Settlement outcomes.
const (
	OutcomePaid      Outcome = "paid"
	OutcomeFailed    Outcome = "failed"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeUnknown   Outcome = "unknown_checkout"
	OutcomeMismatch  Outcome = "amount_mismatch"
	// OutcomeOtherPayer: paid, but the callback names another phone than
	// the one prompted (someone else entered the PIN, or a forger knows
	// the checkout id). The money counts; the audit log flags it.
	OutcomeOtherPayer Outcome = "paid_other_payer"
	// OutcomeReceiptReused: a success callback carrying an M-Pesa receipt
	// that already settled another invoice. Nothing is marked paid; the
	// prompt stays in flight, so the status query asks Daraja itself.
	OutcomeReceiptReused Outcome = "receipt_reused"
	// OutcomePartial: applied to the invoice, which still has a balance
	// due (payments accumulate).
	OutcomePartial Outcome = "partial"
	// OutcomeOverpaid: the invoice is paid and the rest of the payment is
	// held in suspense for refund.
	OutcomeOverpaid Outcome = "overpaid"
	// OutcomeSuspense: nothing applied; the whole payment is held in
	// suspense (Settlement.Reason says why).
	OutcomeSuspense Outcome = "suspense"
)

// ReceiptFunc builds the receipt SMS for a settled invoice.
type ReceiptFunc func(inv Invoice) Message

// JobKind names a kind of durable background work.
type JobKind string

// Job kinds the payments worker runs.
const (
	JobPush  JobKind = "stk_push"
	JobQuery JobKind = "stk_query"
	// JobCheckout creates an invoice's bill on e-Citizen (the ecitizen
	// billing backend): once per invoice, retried until e-Citizen answers
	// or the job gives up.
	JobCheckout JobKind = "checkout"
)

// JobKinds is the closed set of job kinds (metrics label every kind,
// and only these).
func JobKinds() []JobKind { return []JobKind{JobPush, JobQuery, JobReversal, JobCheckout} }

// QueueStats is the backlog of the outbox and the job queue, read at
// metrics scrape time.
type QueueStats struct {
	// OutboxDepth counts messages queued and not yet sent.
	OutboxDepth int64
	// OutboxOldest is the age of the oldest of them (0 when none).
	OutboxOldest time.Duration
	// Jobs holds every kind of JobKinds (zero when none), and any other
	// kind found in the queue.
	Jobs map[JobKind]JobStats
}

// JobStats is one job kind's backlog.
type JobStats struct {
	// Depth counts jobs not done.
	Depth int64
	// Lag is how late the most overdue due and unclaimed job is (0 when
	// none is due).
	Lag time.Duration
}

// Job is a unit of background work claimed from the queue.
type Job struct {
	ID       int64
	Kind     JobKind
	Payload  []byte
	Attempts int
}

// PromptJob is the payload of push and query jobs.
type PromptJob struct {
	AttemptID int64 `json:"attempt_id"`
	// Tries counts the status queries made (a query job), or the failed
	// records of a push Daraja accepted (a push job with Accepted).
	Tries int `json:"tries,omitempty"`
	// Accepted is Daraja's answer to a push the store could not record:
	// the job's later runs only retry the record, never the push, since a
	// second push would be a second prompt on the payer's phone.
	Accepted *STKPushResult `json:"accepted,omitempty"`
	// GiveUp is why the job gave the prompt up when the store could not
	// record that: its later runs only retry the record.
	GiveUp string `json:"give_up,omitempty"`
}

// MessageStatus is where an outbox message is. A message is claimed as
// "sending" with a lease; "sent" once the provider accepted it (its id
// stored in the same update); then "delivered" or "failed" from delivery
// reports. "recorded" is the record-only sender's final state;
// "opted_out" a notice to a phone that sent STOP.
type MessageStatus string

// Outbox message states.
const (
	MsgQueued    MessageStatus = "queued"
	MsgSending   MessageStatus = "sending"
	MsgSent      MessageStatus = "sent"
	MsgDelivered MessageStatus = "delivered"
	MsgFailed    MessageStatus = "failed"
	MsgRecorded  MessageStatus = "recorded"
	MsgOptedOut  MessageStatus = "opted_out"
)

// Final reports whether no delivery report can change the state.
func (s MessageStatus) Final() bool { return s == MsgDelivered || s == MsgFailed }

// OutMessage is a claimed outbox message.
type OutMessage struct {
	Message
	Attempts int
}

// Sent is one message a provider accepted: our id and the provider's.
type Sent struct {
	ID         int64
	ProviderID string
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
