package huduma

import "time"

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
	// CheckoutAt is when the worker may take the checkout job (zero: at
	// once). Whoever creates the invoice runs its checkout inline first,
	// so that the END screen can show the bill number; the worker waiting
	// until that run had its budget keeps it from winning the job first.
	CheckoutAt time.Time
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
