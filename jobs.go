package huduma

import "time"

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
