package huduma

import (
	"fmt"
	"strings"
	"time"
)

// Every money event (a prompt's result, a paybill payment, an officer's
// apply, a refund and its result, an invoice's expiry) is decided here, in
// one pure function: Settle takes the state the store loaded and locked
// for the event, and the event, and returns a Plan of every change, text,
// job, audit row and metric the event causes. The store only loads what
// an event's Key names and writes the plan it is handed, in the same
// transaction; nothing here reads a clock, a database or the network, so
// every rule is tested by a table and the conservation property runs on
// this function alone.
//
// The rules, one line each (docs/money.md has the same table in prose):
//
//	event                        state                                outcome
//	STK result, no prompt        -                                    unknown_checkout, nothing changes
//	STK result, any              prompt already succeeded or failed   duplicate (a success with the prompt's amount
//	                                                                  gives its receipt-less payment the receipt)
//	STK result, code ≠ 0         prompt in flight                     failed: prompt failed, invoice failed
//	                                                                  (cancelled for 1032) unless paid or expired
//	STK success, other amount    prompt in flight                     amount_mismatch, audited, nothing applied
//	STK success, receipt known   receipt on another invoice           receipt_reused, audited, prompt stays in flight
//	STK success, receipt known   receipt on this invoice              duplicate: the prompt succeeds, linked to it
//	STK success, no receipt      a matching paybill payment recorded  duplicate: the prompt succeeds, linked to it
//	STK success                  otherwise                            the prompt succeeds; its payment is received
//	                                                                  as below (paid_other_payer when another
//	                                                                  phone paid it in full)
//	payment, seen transaction    -                                    duplicate, nothing changes
//	payment, same invoice and    a receipt-less prompt payment        duplicate: that payment takes this receipt
//	amount as a provisional one
//	payment                      no invoice                           suspense, unknown_account
//	payment                      invoice paid                         suspense, invoice_paid
//	payment                      invoice expired                      suspense, invoice_expired
//	payment                      less than due                        partial
//	payment                      exactly due                          paid: receipt, application, receipt text
//	payment                      more than due                        overpaid: paid, the rest held (overpaid)
//	apply held money             payment refunding / holds nothing    refused (conflict)
//	apply held money             invoice missing/paid/expired         refused (not found / conflict)
//	apply held money             otherwise                            partial/paid/overpaid as for a payment
//	refund request               key seen for this payment            that refund again, nothing changes
//	refund request               key seen for another payment         refused (key reused)
//	refund request               refunding / holds nothing / no receipt refused (conflict)
//	refund request               otherwise                            all held money refunding, reversal job
//	reversal result              no refund of ours                    unknown_checkout, nothing changes
//	reversal result              refund already ended                 duplicate
//	reversal result, code 0      refund on its way                    refunded: held money out, payer texted
//	reversal result, code ≠ 0    refund on its way                    refund_failed: money held again
//	reversal queue timeout       refund on its way                    refund_timed_out: kept on the refund, which
//	                                                                  stays on its way (a later result settles it)
//	refund refused at request    refund on its way                    refund_failed: money held again
//	expiry                       invoice payable and past its expiry  expired
//	expiry                       otherwise                            nothing changes
//	new invoice                  its key made one before              that invoice again (refused: another request's)
//	new invoice                  a stranger's prompt over the cap     refused (rate limited), nothing written
//	new invoice                  otherwise                            created, with its text and first prompt
//	prompt asked for             its key queued one before            that prompt again
//	prompt asked for             invoice paid, expired or past expiry refused (conflict)
//	prompt asked for             a prompt in flight, younger than     refused (conflict)
//	                             PromptLife
//	prompt asked for             a stranger's, over the cap           refused (rate limited)
//	prompt asked for             otherwise                            queued for the balance due; older prompts
//	                                                                  still in flight become stale
//	prompt accepted by M-Pesa    prompt queued                        sent, with its status query scheduled
//	prompt not sent              prompt queued                        unsent, the payer texted how to pay instead
//	                                                                  (rejected, untexted, when the invoice was
//	                                                                  paid or expired first)
//	prompt accepted / not sent   prompt no longer queued              nothing changes
//	refund claimed / unclaimed   refund queued / sending              sending / queued (only one claimer wins)
//	refund accepted by M-Pesa    refund sending                       sent, with M-Pesa's conversation ids
//	refund outcome unknown       refund sending                       stays sending, never sent again
//	new invoice, ecitizen        otherwise                            created, with its checkout job (one per invoice)
//	bill number learned          no invoice                           refused (not found)
//	bill number learned          invoice shows that bill              duplicate, nothing changes
//	bill number learned          invoice shows another bill           bill_conflict, audited, the first kept
//	bill number learned          otherwise                            billed: stored, the payer texted it with the
//	                                                                  steps (not when the screen showed it, nor once
//	                                                                  paid or expired)
//	re-prompt asked (ecitizen)   no invoice / paid / expired / no bill refused (not found / conflict)
//	re-prompt asked (ecitizen)   another phone than the invoice's     refused (forbidden): e-Citizen prompts no stranger
//	re-prompt asked (ecitizen)   otherwise                            a checkout job asking for a prompt, once per key
//	checkout gave up             invoice billed, paid or expired      duplicate, nothing changes
//	checkout gave up             otherwise                            checkout_failed, audited, the payer texted once
//	e-Citizen payment            -                                    as a payment above (source ecitizen)

// LedgerKey names what an event needs loaded and locked. Locks are taken
// in one order, so two settlements never wait on each other in a circle:
// the prompt (by Checkout), the refund (by its conversation ids), the
// payment (a named lock on TransID), then the invoice.
type LedgerKey struct {
	// Checkout is a prompt's CheckoutRequestID: the prompt is loaded, and
	// its invoice when Invoice is empty.
	Checkout string
	// TransID is the transaction id of the payment concerned: its named
	// lock is taken, the payment recorded under it (if any) loaded, and
	// whether an invoice already shows it as its receipt.
	TransID string
	// Invoice is the invoice concerned (locked), with its payments.
	Invoice InvoiceNumber
	// RefundKey loads the refund an idempotency key made.
	RefundKey string
	// Reversal loads the refund a reversal result names (by its
	// conversation ids, else the refunds of the payment it reverses);
	// TransID and Invoice then follow from that refund's payment.
	Reversal *ReversalResult
	// PaymentInvoice: load the invoice of the payment TransID names
	// (refunds tell the payer in the invoice's language).
	PaymentInvoice bool
	// AttemptID loads a prompt by its id, and its invoice.
	AttemptID int64
	// RefundID loads a refund by its id (locked).
	RefundID int64
	// PromptKey loads the prompt a prompt request's key queued, if any;
	// InFlight loads the invoice's prompts still in flight.
	PromptKey string
	InFlight  bool
	// InvoiceKey loads the invoice an idempotency key made, if any.
	InvoiceKey string
	// PromptsTo counts the prompts strangers had queued to this phone in
	// the last PromptCapWindow, under a lock on the phone.
	PromptsTo MSISDN
	// Bill loads (and locks) the invoice that e-Citizen bill number
	// belongs to, when Invoice is empty.
	Bill string
}

// LedgerState is what the store loaded and locked for an event.
type LedgerState struct {
	// Now is the transaction's clock.
	Now time.Time
	// Attempt is the prompt Key.Checkout names (nil: none of ours).
	Attempt *Attempt
	// Payment is the payment recorded under Key.TransID (nil: none yet).
	Payment *ReceivedPayment
	// ReceiptTaken: an invoice already shows Key.TransID as its receipt.
	ReceiptTaken bool
	// Invoice is the invoice concerned (nil: none by that number).
	Invoice *Invoice
	// InvoicePayments are the payments already recorded for Invoice.
	InvoicePayments []ReceivedPayment
	// Application is the number of the application Invoice opened, ""
	// before it is paid.
	Application string
	// Refund is the refund Key.RefundKey or Key.Reversal's conversation
	// ids name (nil: none).
	Refund *Refund
	// Refunds are the refunds of Payment, oldest first (a reversal result
	// that names only the payment it reverses).
	Refunds []Refund
	// NewApplication is a fresh application number, for the plan to use
	// when it opens one (the store draws it and retries on a clash).
	NewApplication string
	// InFlight are Invoice's prompts still queued or sent.
	InFlight []Attempt
	// KeyPrompt is the prompt Key.PromptKey queued before (nil: none).
	KeyPrompt *Attempt
	// KeyInvoice is the invoice Key.InvoiceKey made before (nil: none),
	// and KeyInvoiceHash the request it was made for.
	KeyInvoice     *Invoice
	KeyInvoiceHash string
	// StrangerPrompts counts the prompts strangers queued to
	// Key.PromptsTo in the last PromptCapWindow.
	StrangerPrompts int
}

// PromptCapWindow is how far back the prompts a phone got from strangers
// are counted against the cap.
const PromptCapWindow = time.Hour

// MoneyEvent is one of InvoiceEvent, PromptEvent, PushAcceptedEvent,
// PushNotSentEvent, STKResultEvent, PaymentEvent, ApplyEvent,
// RefundRequestEvent, RefundStepEvent, RefundRefusedEvent,
// ReversalEvent, ExpireEvent, BillEvent, CheckoutEvent and
// CheckoutFailedEvent.
type MoneyEvent interface {
	// Key says what the store must load and lock for the event.
	Key() LedgerKey
}

// InvoiceEvent creates an invoice, with its text and first prompt.
type InvoiceEvent struct {
	Order InvoiceOrder
	// Cap is how many prompts from strangers a phone may get in
	// PromptCapWindow (0: no cap).
	Cap int
}

// Key counts the prompts the payer got from strangers, when the first
// prompt is one of those (a prompt to another phone than the invoice's).
func (e InvoiceEvent) Key() LedgerKey {
	if p := e.Order.Push; p != nil && e.Cap > 0 && p.Payer != e.Order.Invoice.Phone {
		return LedgerKey{PromptsTo: p.Payer}
	}
	return LedgerKey{}
}

// PromptEvent asks for a prompt for an invoice.
type PromptEvent struct {
	Invoice InvoiceNumber
	Payer   MSISDN
	RunAt   time.Time
	// Dedupe makes the request idempotent: the same key again is the
	// prompt it queued.
	Dedupe string
	// ByPayer: the payer asked for it from the phone it goes to, on a
	// channel the network vouches for (a USSD session): nobody's stranger
	// prompt, so neither refused by the cap nor counted in it.
	ByPayer bool
	// Cap is how many prompts from strangers a phone may get in
	// PromptCapWindow (0: no cap).
	Cap int
}

// Key loads the invoice, its prompts in flight and the key's prompt.
func (e PromptEvent) Key() LedgerKey {
	k := LedgerKey{Invoice: e.Invoice, PromptKey: e.Dedupe, InFlight: true}
	if e.Cap > 0 && !e.ByPayer {
		k.PromptsTo = e.Payer
	}
	return k
}

// BillEvent is e-Citizen's bill number for an invoice, learned from a
// checkout.
type BillEvent struct {
	Invoice InvoiceNumber
	Bill    string
	// Shown: the caller shows the bill number itself (the END screen of
	// the hop that ordered it), so no text tells it again.
	Shown bool
}

// Key loads the invoice.
func (e BillEvent) Key() LedgerKey { return LedgerKey{Invoice: e.Invoice} }

// CheckoutEvent asks e-Citizen to prompt an invoice's phone again (a
// repeat checkout with sendSTK).
type CheckoutEvent struct {
	Invoice InvoiceNumber
	Payer   MSISDN
	// Dedupe makes the request idempotent: the same key again queues
	// nothing more.
	Dedupe string
}

// Key loads the invoice.
func (e CheckoutEvent) Key() LedgerKey { return LedgerKey{Invoice: e.Invoice} }

// CheckoutFailedEvent is an invoice's checkout job giving up: e-Citizen
// never billed it.
type CheckoutFailedEvent struct {
	Invoice InvoiceNumber
	Reason  string
}

// Key loads the invoice.
func (e CheckoutFailedEvent) Key() LedgerKey { return LedgerKey{Invoice: e.Invoice} }

// PushAcceptedEvent is M-Pesa accepting a prompt.
type PushAcceptedEvent struct {
	Attempt int64
	Result  STKPushResult
	// QueryAt is when to ask M-Pesa for the result if no callback came.
	QueryAt time.Time
}

// Key loads the prompt.
func (e PushAcceptedEvent) Key() LedgerKey { return LedgerKey{AttemptID: e.Attempt} }

// PushNotSentEvent ends a queued prompt that will never be sent: M-Pesa
// refused it, an outage outlasted its tries, it would come too late, or
// its invoice was paid or expired first.
type PushNotSentEvent struct {
	Attempt int64
	Reason  string
}

// Key loads the prompt and its invoice.
func (e PushNotSentEvent) Key() LedgerKey { return LedgerKey{AttemptID: e.Attempt} }

// UnsentDedupe is the dedupe key of the text that tells a payer the prompt
// of attempt id will not come: one text per attempt, however often the
// job that gives up on it runs.
func UnsentDedupe(id int64) string { return fmt.Sprintf("prompt-unsent:%d", id) }

// STKResultEvent is a prompt's result, from Daraja's callback or a status
// query (which carries no receipt and no amount: the prompt's).
type STKResultEvent struct {
	Result STKResult
}

// Key loads the prompt and the payment its receipt (or, without one, its
// provisional id) names.
func (e STKResultEvent) Key() LedgerKey {
	return LedgerKey{Checkout: e.Result.CheckoutRequestID, TransID: e.transID()}
}

func (e STKResultEvent) transID() string {
	if r := NormalizeTransID(e.Result.Receipt); r != "" {
		return r
	}
	return ProvisionalPrefix + e.Result.CheckoutRequestID
}

// PaymentEvent is a payment made to the paybill (a C2B confirmation, a
// pulled transaction, a statement row).
type PaymentEvent struct {
	Payment C2BPayment
}

// Key loads the payment's transaction and the invoice its account names.
func (e PaymentEvent) Key() LedgerKey {
	return LedgerKey{TransID: NormalizeTransID(e.Payment.TransID), Invoice: e.Payment.Invoice}
}

// ApplyEvent is a finance officer applying held money to an invoice.
type ApplyEvent struct {
	TransID string
	Invoice InvoiceNumber
	Actor   string
}

// Key loads the payment and the invoice.
func (e ApplyEvent) Key() LedgerKey {
	return LedgerKey{TransID: NormalizeTransID(e.TransID), Invoice: e.Invoice}
}

// RefundRequestEvent asks to refund a payment's held money.
type RefundRequestEvent struct {
	Request RefundRequest
}

// Key loads the payment and the refund the key made, if any.
func (e RefundRequestEvent) Key() LedgerKey {
	return LedgerKey{TransID: NormalizeTransID(e.Request.TransID), RefundKey: e.Request.Key}
}

// RefundStep names a step of a refund on its way to M-Pesa.
type RefundStep string

// Refund steps: claimed by a worker (queued → sending, committed before
// the call, so the reversal is sent at most once), put back (it certainly
// never reached M-Pesa), accepted by M-Pesa, or its fate unknown (it may
// have reached M-Pesa: never sent again; its result still settles it).
const (
	RefundClaim    RefundStep = "claim"
	RefundUnclaim  RefundStep = "unclaim"
	RefundAccepted RefundStep = "accepted"
	RefundUnknown  RefundStep = "unknown"
)

// RefundStepEvent moves a refund one step on its way.
type RefundStepEvent struct {
	Refund int64
	Step   RefundStep
	// Accepted is M-Pesa's answer (RefundAccepted).
	Accepted ReversalAccepted
	// Why says how we know (RefundUnclaim, RefundUnknown).
	Why string
}

// Key loads the refund.
func (e RefundStepEvent) Key() LedgerKey { return LedgerKey{RefundID: e.Refund} }

// RefundRefusedEvent is M-Pesa refusing a reversal request outright.
type RefundRefusedEvent struct {
	Refund     Refund
	Code, Desc string
}

// Key loads the refund's payment and its invoice.
func (e RefundRefusedEvent) Key() LedgerKey {
	return LedgerKey{TransID: e.Refund.TransID, PaymentInvoice: true}
}

// ReversalEvent is a reversal's result (or its queue timeout).
type ReversalEvent struct {
	Result ReversalResult
}

// Key loads the refund the result names, its payment and its invoice.
func (e ReversalEvent) Key() LedgerKey {
	r := e.Result
	r.OriginalTransID = NormalizeTransID(r.OriginalTransID)
	return LedgerKey{Reversal: &r, PaymentInvoice: true}
}

// ExpireEvent is the expiry sweep reaching an invoice.
type ExpireEvent struct {
	Invoice InvoiceNumber
}

// Key loads the invoice.
func (e ExpireEvent) Key() LedgerKey { return LedgerKey{Invoice: e.Invoice} }

// Plan is everything one money event changes, for the store to write in
// one transaction. Pointers left nil change nothing.
type Plan struct {
	// Outcome says what the event did; Settlement details a payment's.
	Outcome    Outcome
	Settlement Settlement
	// NewInvoice is an invoice to create (its Message and Push are in
	// Messages and NewPrompt); KeyInvoice, the invoice its key made
	// before, when it is not created again.
	NewInvoice *InvoiceOrder
	KeyInvoice *Invoice
	// NewPrompt is a prompt to queue, with its push job (its ID is the
	// store's); Prompt, the prompt a request's key queued before.
	NewPrompt *NewPrompt
	Prompt    *Attempt
	// KeyRefund is the refund a request's key made before.
	KeyRefund *Refund
	// StalePrompts are prompts in flight a new prompt replaces.
	StalePrompts []int64
	// Attempt is the prompt's new state.
	Attempt *AttemptChange
	// Invoice is the invoice's new state.
	Invoice *InvoiceChange
	// Bill is e-Citizen's bill number to store on Invoice.
	Bill *BillChange
	// NewPayment is a payment to record (its ID is the store's).
	NewPayment *ReceivedPayment
	// Payment is an existing payment's new state.
	Payment *PaymentChange
	// Moves are the journal rows: money between a payment's buckets.
	Moves []Move
	// Application is the application a paid invoice opens.
	Application *Application
	// NewRefund is a refund to record, with its reversal job.
	NewRefund *Refund
	// Refund is an existing refund's new state.
	Refund *RefundChange
	// Messages are the texts to queue, each once per dedupe key.
	Messages []Outgoing
	// Audit is the event's rows in the audit log.
	Audit []AuditRow
	// Jobs are background jobs to add.
	Jobs []JobPlan
	// Callback is the provider's message the event came in, to keep in
	// the callback log with the outcome (set by the caller, not the
	// rules).
	Callback *CallbackRecord
	// Events are told to the metrics once the transaction commits.
	Events []LedgerEvent
}

// NewPrompt is a prompt to queue.
type NewPrompt struct {
	// Attempt is the prompt (queued, for the balance due).
	Attempt Attempt
	// RunAt is when its push job falls due.
	RunAt time.Time
	// Key is the request's idempotency key, if any.
	Key string
	// Stranger marks a prompt the cap counts.
	Stranger bool
}

// JobPlan is a background job to add.
type JobPlan struct {
	Kind    JobKind
	Payload any
	RunAt   time.Time
	// Dedupe adds the job once per key ("" = always).
	Dedupe string
	// ID is the job's id, filled in by the store (0 when Dedupe had
	// added it before).
	ID int64
}

// BillChange stores an invoice's e-Citizen bill number.
type BillChange struct {
	Invoice InvoiceNumber
	Bill    string
}

// CallbackRecord is a provider's callback as received, for the log.
type CallbackRecord struct {
	Kind, Reference string
	Body            []byte
}

// AttemptChange is a prompt's new status and result (and M-Pesa's ids,
// once it accepted the prompt).
type AttemptChange struct {
	ID                     int64
	Status                 AttemptStatus
	ResultCode, ResultDesc string
	// CheckoutRequestID and MerchantRequestID are written when not empty.
	CheckoutRequestID, MerchantRequestID string
}

// InvoiceChange is an invoice's new state (every field is written).
type InvoiceChange struct {
	Number   InvoiceNumber
	Received int64
	Status   InvoiceStatus
	Reason   string
	// Receipt is the M-Pesa receipt the invoice shows ("" = none).
	Receipt string
	PaidAt  *time.Time
}

// PaymentChange is a recorded payment's new state (every field is
// written).
type PaymentChange struct {
	ID int64
	// TransID renames a provisional payment to its receipt.
	TransID                     string
	Applied, Suspense, Refunded int64
	State                       PaymentState
	Reason                      SuspenseReason
	Note                        string
	SuspenseSince               *time.Time
	// Checkout links the payment to the prompt it settled.
	Checkout string
}

// Move is one journal row: Amount of a payment went From one bucket To
// another ("received", "applied", "suspense", "refunded"). PaymentID 0 is
// the plan's NewPayment.
type Move struct {
	PaymentID int64
	From, To  string
	Amount    int64
	Invoice   InvoiceNumber
	Reason    SuspenseReason
	Actor     string
}

// RefundChange is a refund's new status and result (and M-Pesa's ids,
// once it accepted the reversal).
type RefundChange struct {
	ID                     int64
	Status                 RefundStatus
	ResultCode, ResultDesc string
	// ConversationID and OriginatorConversationID are written when not
	// empty.
	ConversationID, OriginatorConversationID string
}

// Outgoing is a text to queue, once per Dedupe key.
type Outgoing struct {
	Message Message
	Dedupe  string
}

// AuditRow is one row of the audit log: what happened to an entity
// ("invoice", "payment", "attempt"), with TransID naming the payment it
// concerns, if any, so the payment's trail finds it too.
type AuditRow struct {
	Entity, ID, Action string
	TransID            string
	Detail             map[string]any
}

// LedgerEventKind names a metrics event.
type LedgerEventKind string

// Metrics events of a plan.
const (
	// EventPaymentReceived: a payment settled (Outcome), or a repeat.
	EventPaymentReceived LedgerEventKind = "payment_received"
	// EventInvoicePaid: an invoice became paid, Took after its creation.
	EventInvoicePaid LedgerEventKind = "invoice_paid"
	// EventInvoiceExpired: an invoice expired.
	EventInvoiceExpired LedgerEventKind = "invoice_expired"
	// EventSuspense: a suspense event (Suspense* constants).
	EventSuspense LedgerEventKind = "suspense"
	// EventSTKResult: a prompt's result took effect, with its code.
	EventSTKResult LedgerEventKind = "stk_result"
	// EventInvoiceCreated: a new invoice (not a replay of its key).
	EventInvoiceCreated LedgerEventKind = "invoice_created"
)

// Suspense events (LedgerEvent.Name of EventSuspense).
const (
	SuspenseOpened          = "opened"
	SuspenseApplied         = "applied"
	SuspenseRefundRequested = "refund_requested"
	SuspenseRefunded        = "refunded"
	SuspenseRefundFailed    = "refund_failed"
)

// LedgerEvent is one metrics event of a plan.
type LedgerEvent struct {
	Kind    LedgerEventKind
	Outcome Outcome
	// Name is the suspense event or the STK result code.
	Name string
	Took time.Duration
}

// Settle decides what event does to the ledger given the state loaded
// for it; texts renders the texts it queues. A refusal (an officer's
// apply that cannot be made, a refund that cannot be asked for, a payment
// that cannot be recorded) is an *Error, and the store writes nothing.
func Settle(st LedgerState, event MoneyEvent, texts PaymentTexts) (Plan, error) {
	s := settling{st: st, texts: texts}
	var err error
	switch e := event.(type) {
	case InvoiceEvent:
		err = s.newInvoice(e)
	case PromptEvent:
		err = s.prompt(e)
	case PushAcceptedEvent:
		err = s.pushAccepted(e)
	case PushNotSentEvent:
		err = s.pushNotSent(e)
	case RefundStepEvent:
		err = s.refundStep(e)
	case STKResultEvent:
		err = s.stk(e)
	case PaymentEvent:
		err = s.payment(e.Payment)
	case ApplyEvent:
		err = s.apply(e)
	case RefundRequestEvent:
		err = s.refundRequest(e.Request)
	case RefundRefusedEvent:
		err = s.refundRefused(e)
	case ReversalEvent:
		err = s.reversal(e.Result)
	case ExpireEvent:
		s.expire()
	case BillEvent:
		err = s.billed(e)
	case CheckoutEvent:
		err = s.reprompt(e)
	case CheckoutFailedEvent:
		s.checkoutFailed(e)
	default:
		err = fmt.Errorf("settle: unknown event %T", event)
	}
	if err != nil {
		return Plan{}, err
	}
	return s.plan, nil
}

// settling builds one plan.
type settling struct {
	st    LedgerState
	texts PaymentTexts
	plan  Plan
}

func (s *settling) audit(entity, id, action, trans string, detail map[string]any) {
	s.plan.Audit = append(s.plan.Audit, AuditRow{Entity: entity, ID: id, Action: action, TransID: trans, Detail: detail})
}

func (s *settling) event(e LedgerEvent) { s.plan.Events = append(s.plan.Events, e) }

func (s *settling) message(m Message, dedupe string) {
	if m.To == "" {
		return
	}
	s.plan.Messages = append(s.plan.Messages, Outgoing{Message: m, Dedupe: dedupe})
}

func (s *settling) notice(n PaymentNotice, dedupe string) {
	if s.texts == nil {
		return
	}
	if m, ok := s.texts.Notice(n); ok {
		s.message(m, dedupe)
	}
}

// stk applies a prompt's result.
func (s *settling) stk(e STKResultEvent) error {
	res, a := e.Result, s.st.Attempt
	res.Receipt = NormalizeTransID(res.Receipt)
	if a == nil {
		s.plan.Outcome = OutcomeUnknown
		return nil
	}
	if a.Status == AttemptSucceeded || a.Status == AttemptFailed {
		s.plan.Outcome = OutcomeDuplicate
		if a.Status == AttemptSucceeded && res.ResultCode == "0" && res.Receipt != "" && res.Amount == a.Amount {
			// The callback after the status query: its receipt at last.
			s.receiptForPrompt(*a, res.Receipt)
		}
		return nil
	}
	if res.ResultCode != "0" {
		s.plan.Outcome = OutcomeFailed
		s.plan.Attempt = &AttemptChange{ID: a.ID, Status: AttemptFailed, ResultCode: res.ResultCode, ResultDesc: res.ResultDesc}
		if inv := s.st.Invoice; inv != nil && (inv.Status == InvoicePending || inv.Status == InvoiceFailed || inv.Status == InvoiceCancelled) {
			status := InvoiceFailed
			if res.ResultCode == "1032" {
				status = InvoiceCancelled
			}
			s.setInvoice(*inv, func(c *InvoiceChange) { c.Status, c.Reason = status, res.ResultCode })
		}
		s.audit("invoice", string(a.Invoice), "payment_failed", "", map[string]any{"attempt": a.ID, "code": res.ResultCode})
		s.event(LedgerEvent{Kind: EventSTKResult, Name: res.ResultCode})
		return nil
	}
	if res.Amount != a.Amount {
		s.plan.Outcome = OutcomeMismatch
		s.audit("invoice", string(a.Invoice), "callback_amount_mismatch", "", map[string]any{"attempt": a.ID, "amount": res.Amount, "want": a.Amount})
		return nil
	}
	succeed := &AttemptChange{ID: a.ID, Status: AttemptSucceeded, ResultCode: "0", ResultDesc: res.ResultDesc}
	if res.Receipt != "" {
		if seen := s.st.Payment; seen != nil {
			if seen.Invoice != a.Invoice {
				s.plan.Outcome = OutcomeReceiptReused
				s.audit("invoice", string(a.Invoice), "callback_receipt_reused", res.Receipt, map[string]any{"attempt": a.ID, "receipt": res.Receipt})
				return nil
			}
			// Its paybill confirmation (or the pull worker) came first.
			s.plan.Outcome = OutcomeDuplicate
			s.plan.Attempt = succeed
			s.linkPrompt(*a, *seen)
			s.event(LedgerEvent{Kind: EventSTKResult, Name: "0"})
			return nil
		}
	} else if seen, ok := s.confirmedByPaybill(*a); ok {
		s.plan.Outcome = OutcomeDuplicate
		s.plan.Attempt = succeed
		s.linkPrompt(*a, seen)
		s.event(LedgerEvent{Kind: EventSTKResult, Name: "0"})
		return nil
	}
	s.plan.Attempt = succeed
	s.event(LedgerEvent{Kind: EventSTKResult, Name: "0"})
	otherPayer := res.Phone != "" && strings.TrimPrefix(res.Phone, "+") != a.Payer.Digits()
	if otherPayer {
		s.audit("invoice", string(a.Invoice), "callback_payer_mismatch", "", map[string]any{"attempt": a.ID,
			"prompted": a.Payer.Masked(), "callback": MaskPhone(res.Phone)})
	}
	phone := a.Payer
	if p := fullPhone(res.Phone); p != "" {
		phone = p
	}
	s.receive(incoming{transID: e.transID(), source: SourceSTK, account: string(a.Invoice), invoice: a.Invoice, amount: res.Amount,
		msisdn: phone.Digits(), phone: phone, checkout: a.CheckoutRequestID, paidAt: res.PaidAt})
	if s.plan.Outcome == OutcomePaid && otherPayer {
		s.plan.Outcome = OutcomeOtherPayer
	}
	return nil
}

// linkPrompt records that prompt a succeeded as payment p, already
// recorded.
func (s *settling) linkPrompt(a Attempt, p ReceivedPayment) {
	if p.Checkout == "" {
		c := changeOf(p)
		c.Checkout = a.CheckoutRequestID
		s.plan.Payment = &c
	}
	s.audit("invoice", string(a.Invoice), "prompt_matched_payment", p.TransID, map[string]any{"attempt": a.ID, "payment": p.TransID})
}

// confirmedByPaybill finds the payment a prompt's receipt-less success (a
// status query's) already is: a paybill payment or a pulled transaction
// for the same invoice and amount, recorded since the prompt was made,
// linked to no prompt, from a number that can be the payer.
func (s *settling) confirmedByPaybill(a Attempt) (ReceivedPayment, bool) {
	for _, p := range s.st.InvoicePayments {
		if p.Invoice == a.Invoice && p.Amount == a.Amount && p.Checkout == "" && !p.Provisional() &&
			!p.ReceivedAt.Before(a.CreatedAt) && SamePhone(p.Payer, a.Payer) {
			return p, true
		}
	}
	return ReceivedPayment{}, false
}

// receiptForPrompt gives a prompt's provisional payment its receipt,
// unless another payment already carries that receipt.
func (s *settling) receiptForPrompt(a Attempt, receipt string) {
	var prov *ReceivedPayment
	for i, p := range s.st.InvoicePayments {
		if p.TransID == ProvisionalPrefix+a.CheckoutRequestID {
			prov = &s.st.InvoicePayments[i]
			break
		}
	}
	if prov == nil {
		return // it has its receipt already (or another payment was its evidence)
	}
	if s.st.Payment != nil {
		s.audit("invoice", string(a.Invoice), "callback_receipt_reused", receipt, map[string]any{"attempt": a.ID, "receipt": receipt})
		return
	}
	s.learnReceipt(*prov, receipt)
}

// learnReceipt renames provisional payment p to its M-Pesa receipt, on the
// invoice too when the invoice is paid and shows none.
func (s *settling) learnReceipt(p ReceivedPayment, receipt string) {
	c := changeOf(p)
	c.TransID = receipt
	s.plan.Payment = &c
	if inv := s.st.Invoice; inv != nil && inv.Status == InvoicePaid && inv.MpesaReceipt == "" && !s.st.ReceiptTaken {
		s.setInvoice(*inv, func(c *InvoiceChange) { c.Receipt = receipt })
	}
	s.audit("payment", receipt, "receipt_learned", receipt, map[string]any{"was": p.TransID, "invoice": p.Invoice})
}

// incoming is a payment as a settlement path hands it to receive.
type incoming struct {
	transID  string
	source   PaymentSource
	account  string
	invoice  InvoiceNumber
	amount   int64
	msisdn   string
	phone    MSISDN
	checkout string
	paidAt   time.Time
}

// payment records a paybill payment once by its transaction id.
func (s *settling) payment(p C2BPayment) error {
	in := incoming{transID: NormalizeTransID(p.TransID), source: p.Source, account: p.Account, invoice: p.Invoice, amount: p.Amount,
		msisdn: p.MSISDN, phone: p.Phone, paidAt: p.PaidAt}
	if in.source == "" {
		in.source = SourceC2B
	}
	if in.account == "" {
		in.account = string(p.Invoice)
	}
	if in.phone == "" {
		in.phone = fullPhone(p.MSISDN)
	}
	if in.transID == "" || len(in.transID) > 64 || strings.HasPrefix(in.transID, ProvisionalPrefix) {
		return Errorf(EInvalid, "a payment needs its M-Pesa transaction id")
	}
	if err := CheckPayment(in.amount); err != nil {
		return err
	}
	s.receive(in)
	return nil
}

// receive records one payment and splits it by the accumulate rule:
// payments to an invoice add up, the invoice is paid when they reach its
// total, and what matches no payable invoice, or is more than its balance,
// is held in suspense.
func (s *settling) receive(in incoming) {
	defer func() { s.event(LedgerEvent{Kind: EventPaymentReceived, Outcome: s.plan.Outcome}) }()
	st := s.st
	if seen := st.Payment; seen != nil {
		s.plan.Outcome, s.plan.Settlement = OutcomeDuplicate, Settlement{Outcome: OutcomeDuplicate, Invoice: seen.Invoice}
		return
	}
	inv := st.Invoice
	if inv != nil && in.checkout == "" {
		// A prompt's payment a status query confirmed has no receipt yet;
		// this may be its receipt arriving.
		for _, p := range st.InvoicePayments {
			if p.Provisional() && p.Amount == in.amount && SamePhone(in.msisdn, p.Phone) {
				s.learnReceipt(p, in.transID)
				s.plan.Outcome, s.plan.Settlement = OutcomeDuplicate, Settlement{Outcome: OutcomeDuplicate, Invoice: inv.Number}
				return
			}
		}
	}
	now := st.Now
	p := ReceivedPayment{TransID: in.transID, Source: in.source, Account: clipText(in.account, 40), Amount: in.amount,
		Payer: clipText(maskedMSISDN(in.msisdn), 40), Phone: in.phone, PaidAt: in.paidAt, ReceivedAt: now, Checkout: in.checkout}
	if p.PaidAt.IsZero() {
		p.PaidAt = now
	}
	switch {
	case inv == nil:
		p.Reason = ReasonUnknownAccount
	case inv.Status == InvoicePaid || inv.Due() == 0:
		p.Reason = ReasonInvoicePaid
	case inv.Status == InvoiceExpired:
		p.Reason = ReasonInvoiceExpired
	default:
		p.Applied = min(in.amount, inv.Due())
		if p.Applied < in.amount {
			p.Reason = ReasonOverpaid
		}
	}
	if inv != nil {
		p.Invoice = inv.Number
	}
	p.Suspense = p.Amount - p.Applied
	p.State = PaymentApplied
	if p.Suspense > 0 {
		p.State, p.SuspenseSince = PaymentSuspense, &now
	}
	s.plan.NewPayment = &p
	set := Settlement{Invoice: p.Invoice, Applied: p.Applied, Suspense: p.Suspense, Reason: p.Reason}
	detail := map[string]any{"amount": p.Amount, "applied": p.Applied, "suspense": p.Suspense, "reason": p.Reason, "source": p.Source,
		"invoice": p.Invoice, "payer": p.Payer}
	if p.Suspense > 0 {
		s.plan.Moves = append(s.plan.Moves, Move{From: "received", To: "suspense", Amount: p.Suspense, Reason: p.Reason})
		s.event(LedgerEvent{Kind: EventSuspense, Name: SuspenseOpened})
	}
	if p.Applied == 0 {
		s.audit("payment", p.TransID, "received", p.TransID, detail)
		set.Outcome = OutcomeSuspense
		s.plan.Outcome, s.plan.Settlement = set.Outcome, set
		s.notice(PaymentNotice{Kind: NoticeHeld, Payment: p, Invoice: inv, Amount: p.Suspense, Reason: p.Reason}, "payment:"+p.TransID+":held")
		return
	}
	after, paid := s.credit(*inv, p, p.Applied, "received", "", detail)
	switch {
	case paid && p.Suspense > 0:
		set.Outcome = OutcomeOverpaid
		s.notice(PaymentNotice{Kind: NoticeOverpaid, Payment: p, Invoice: &after, Amount: p.Suspense, Reason: p.Reason}, "payment:"+p.TransID+":overpaid")
	case paid:
		set.Outcome = OutcomePaid
	default:
		set.Outcome = OutcomePartial
		s.notice(PaymentNotice{Kind: NoticePartial, Payment: p, Invoice: &after, Amount: p.Applied}, "payment:"+p.TransID+":partial")
	}
	s.plan.Outcome, s.plan.Settlement = set.Outcome, set
}

// credit applies amount of payment p to inv (payable) from bucket from:
// the invoice's received sum grows, the journal records the move, and the
// invoice is paid, with its receipt, its application and the receipt
// text, once the sum reaches its total. The audit row of the payment
// (detail) and of the invoice are one row. It returns the invoice after.
func (s *settling) credit(inv Invoice, p ReceivedPayment, amount int64, from, actor string, detail map[string]any) (Invoice, bool) {
	s.plan.Moves = append(s.plan.Moves, Move{PaymentID: p.ID, From: from, To: "applied", Amount: amount, Invoice: inv.Number, Actor: actor})
	inv.Received += amount
	detail["received"], detail["total"] = inv.Received, inv.Total
	action := "payment_applied"
	paid := inv.Received >= inv.Total
	if paid {
		action = "paid"
		receipt := p.TransID
		if p.Provisional() || s.st.ReceiptTaken {
			// One receipt can complete two invoices (the rest of an
			// overpayment applied to another); an invoice shows a receipt
			// only the first time, the column being unique.
			receipt = ""
		}
		paidAt := p.PaidAt
		if paidAt.IsZero() {
			paidAt = s.st.Now
		}
		inv.Status, inv.Reason, inv.MpesaReceipt, inv.PaidAt = InvoicePaid, "", receipt, &paidAt
		detail["receipt"] = receipt
		s.event(LedgerEvent{Kind: EventInvoicePaid, Took: max(paidAt.Sub(inv.CreatedAt), 0)})
		inv.Application = s.st.Application
		if inv.Application == "" {
			// A paid invoice opens the application the agency will
			// process; the receipt names it, so the payer can track it.
			app := Application{Number: s.st.NewApplication, ServiceCode: inv.ServiceCode, ServiceName: inv.ServiceName, Phone: inv.Phone,
				Invoice: string(inv.Number), Status: AppSubmitted, CreatedAt: s.st.Now, UpdatedAt: s.st.Now}
			s.plan.Application = &app
			inv.Application = app.Number
			detail["application"] = app.Number
		}
		if s.texts != nil {
			s.message(s.texts.Receipt(inv), "receipt:"+string(inv.Number))
		}
	}
	s.setInvoice(inv, func(*InvoiceChange) {})
	if actor != "" {
		detail["actor"] = actor
	}
	s.audit("invoice", string(inv.Number), action, p.TransID, detail)
	return inv, paid
}

// setInvoice records inv with change applied as the invoice's new state.
func (s *settling) setInvoice(inv Invoice, change func(*InvoiceChange)) {
	c := &InvoiceChange{Number: inv.Number, Received: inv.Received, Status: inv.Status, Reason: inv.Reason, Receipt: inv.MpesaReceipt, PaidAt: inv.PaidAt}
	if s.plan.Invoice != nil && s.plan.Invoice.Number == inv.Number {
		c = s.plan.Invoice
		c.Received, c.Status, c.Reason, c.Receipt, c.PaidAt = inv.Received, inv.Status, inv.Reason, inv.MpesaReceipt, inv.PaidAt
	}
	change(c)
	s.plan.Invoice = c
}

// apply applies held money of a payment to an invoice, as much as the
// invoice still needs; what is left stays held (overpaid).
func (s *settling) apply(e ApplyEvent) error {
	p, inv := s.st.Payment, s.st.Invoice
	switch {
	case p == nil:
		return Errorf(ENotFound, "no payment %s", e.TransID)
	case p.State == PaymentRefunding:
		return Errorf(EConflict, "payment %s is being refunded", p.TransID)
	case p.State == PaymentApplied || p.State == PaymentRefunded || p.Suspense == 0:
		return Errorf(EConflict, "payment %s holds nothing (it is %s)", p.TransID, p.State)
	case inv == nil:
		return Errorf(ENotFound, "no invoice %s", e.Invoice)
	case inv.Status == InvoicePaid || inv.Due() == 0:
		return Errorf(EConflict, "invoice %s is already paid", inv.Number)
	case inv.Status == InvoiceExpired:
		return Errorf(EConflict, "invoice %s has expired; apply the payment to a new invoice", inv.Number)
	}
	amount := min(p.Suspense, inv.Due())
	left := p.Suspense - amount
	c := changeOf(*p)
	c.Applied, c.Suspense = p.Applied+amount, left
	c.State = PaymentApplied
	c.SuspenseSince = nil
	if left > 0 {
		c.State, c.Reason = PaymentSuspense, ReasonOverpaid
		c.SuspenseSince = p.SuspenseSince
		if c.SuspenseSince == nil {
			now := s.st.Now
			c.SuspenseSince = &now
		}
	}
	s.plan.Payment = &c
	after := *p
	after.Applied, after.Suspense, after.State, after.Reason = c.Applied, c.Suspense, c.State, c.Reason
	// The journal says where the money went; the payment keeps the
	// invoice its account named.
	inv2, paid := s.credit(*inv, after, amount, "suspense", e.Actor, map[string]any{"applied_from": p.TransID, "amount": amount, "left": left})
	s.event(LedgerEvent{Kind: EventSuspense, Name: SuspenseApplied})
	set := Settlement{Outcome: OutcomePartial, Invoice: inv.Number, Applied: amount, Suspense: left}
	switch {
	case paid && left > 0:
		set.Outcome, set.Reason = OutcomeOverpaid, ReasonOverpaid
	case paid:
		set.Outcome = OutcomePaid
	}
	s.plan.Outcome, s.plan.Settlement = set.Outcome, set
	s.notice(PaymentNotice{Kind: NoticeApplied, Payment: after, Invoice: &inv2, Amount: amount}, "payment:"+p.TransID+":applied:"+string(inv.Number))
	return nil
}

// refundRequest records a refund of all the money a payment holds.
func (s *settling) refundRequest(req RefundRequest) error {
	req.TransID = NormalizeTransID(req.TransID)
	if f := s.st.Refund; f != nil {
		if f.TransID != req.TransID {
			return Errorf(EKeyReused, "this Idempotency-Key was already used to refund another payment")
		}
		s.plan.Outcome, s.plan.KeyRefund = OutcomeDuplicate, f
		return nil
	}
	p := s.st.Payment
	switch {
	case p == nil:
		return Errorf(ENotFound, "no payment %s", req.TransID)
	case p.State == PaymentRefunding:
		return Errorf(EConflict, "payment %s is already being refunded", p.TransID)
	case p.Suspense == 0:
		return Errorf(EConflict, "payment %s holds nothing to refund (it is %s)", p.TransID, p.State)
	case p.Provisional():
		return Errorf(EConflict, "payment %s has no M-Pesa receipt yet; refund it once the pull worker or a statement brings it", p.TransID)
	}
	f := Refund{TransID: p.TransID, Amount: p.Suspense, Status: RefundQueued, RequestedBy: clipText(req.Actor, 100), Remarks: clipText(req.Remarks, 100),
		CreatedAt: s.st.Now, UpdatedAt: s.st.Now}
	s.plan.NewRefund = &f
	c := changeOf(*p)
	c.State = PaymentRefunding
	s.plan.Payment = &c
	s.plan.Outcome = OutcomeSuspense
	s.event(LedgerEvent{Kind: EventSuspense, Name: SuspenseRefundRequested})
	s.audit("payment", p.TransID, "refund_requested", p.TransID, map[string]any{"amount": f.Amount, "actor": req.Actor})
	return nil
}

// refundRefused ends a refund M-Pesa refused outright: held again.
func (s *settling) refundRefused(e RefundRefusedEvent) error {
	f := e.Refund
	if f.Status == RefundSucceeded || f.Status == RefundFailed {
		s.plan.Outcome = OutcomeDuplicate
		return nil
	}
	s.endRefund(f, ReversalResult{ResultCode: e.Code, ResultDesc: e.Desc})
	return nil
}

// reversal applies a reversal's result to the refund it names.
func (s *settling) reversal(res ReversalResult) error {
	f := s.st.Refund
	if f == nil {
		// The request's answer never reached us: the refund on its way
		// for the payment the result names.
		for i := range s.st.Refunds {
			if r := s.st.Refunds[i]; r.Status == RefundSending || r.Status == RefundSent {
				f = &s.st.Refunds[i]
				break
			}
		}
	}
	if f == nil {
		s.plan.Outcome = OutcomeUnknown
		return nil
	}
	if f.Status == RefundSucceeded || f.Status == RefundFailed {
		s.plan.Outcome = OutcomeDuplicate
		return nil
	}
	if res.TimedOut {
		s.refundTimedOut(*f, res)
		return nil
	}
	s.endRefund(*f, res)
	return nil
}

// refundTimedOut keeps a queue timeout on refund f as its result so far:
// no answer, so the refund stays on its way and its payment refunding
// (no second refund or apply can take money M-Pesa may still reverse),
// and the result that follows settles it as if on time. Only an
// unresolved refund with a timeout has a result code, which is how a
// repeat is told.
func (s *settling) refundTimedOut(f Refund, res ReversalResult) {
	if f.ResultCode != "" {
		s.plan.Outcome = OutcomeDuplicate
		return
	}
	s.plan.Outcome = OutcomeRefundTimedOut
	code := res.ResultCode
	if code == "" {
		code = "timeout"
	}
	desc := "timed out in Daraja's queue; it may still be done: " + Redact(res.ResultDesc)
	s.plan.Refund = &RefundChange{ID: f.ID, Status: f.Status, ResultCode: clipText(code, 20), ResultDesc: clipText(desc, 300)}
	s.audit("payment", f.TransID, "refund_timed_out", f.TransID, map[string]any{"refund": f.ID, "code": res.ResultCode, "desc": desc})
}

// endRefund records a refund's outcome and moves its payment's money:
// out to the payer on success, held again otherwise.
func (s *settling) endRefund(f Refund, res ReversalResult) {
	desc := Redact(res.ResultDesc)
	ok := res.ResultCode == "0"
	status := RefundFailed
	if ok {
		status = RefundSucceeded
	}
	s.plan.Refund = &RefundChange{ID: f.ID, Status: status, ResultCode: clipText(res.ResultCode, 20), ResultDesc: clipText(desc, 300)}
	p := s.st.Payment
	if p == nil {
		// Cannot happen: a refund's payment is never deleted.
		s.plan.Outcome = OutcomeRefundFailed
		return
	}
	c := changeOf(*p)
	if !ok {
		s.plan.Outcome = OutcomeRefundFailed
		c.State, c.Reason, c.Note = PaymentSuspense, ReasonRefundFailed, clipText(desc, 300)
		s.plan.Payment = &c
		s.event(LedgerEvent{Kind: EventSuspense, Name: SuspenseRefundFailed})
		s.audit("payment", f.TransID, "refund_failed", f.TransID, map[string]any{"refund": f.ID, "code": res.ResultCode, "desc": desc})
		return
	}
	s.plan.Outcome = OutcomeRefunded
	// The refund took what the payment held when it was asked for; the
	// payment held exactly that since (refunding blocks every other move).
	c.Suspense, c.Refunded = p.Suspense-f.Amount, p.Refunded+f.Amount
	c.State = PaymentRefunded
	if c.Suspense > 0 {
		c.State = PaymentSuspense
	} else {
		c.SuspenseSince = nil
	}
	s.plan.Payment = &c
	s.plan.Moves = append(s.plan.Moves, Move{PaymentID: p.ID, From: "suspense", To: "refunded", Amount: f.Amount, Reason: p.Reason, Actor: f.RequestedBy})
	s.event(LedgerEvent{Kind: EventSuspense, Name: SuspenseRefunded})
	s.audit("payment", f.TransID, "refunded", f.TransID, map[string]any{"refund": f.ID, "amount": f.Amount})
	after := *p
	after.Suspense, after.Refunded, after.State = c.Suspense, c.Refunded, c.State
	s.notice(PaymentNotice{Kind: NoticeRefunded, Payment: after, Invoice: s.st.Invoice, Amount: f.Amount}, fmt.Sprintf("refund:%d:done", f.ID))
}

// expire marks a payable invoice past its expiry as expired.
func (s *settling) expire() {
	inv := s.st.Invoice
	if inv == nil || inv.Status == InvoicePaid || inv.Status == InvoiceExpired || s.st.Now.Before(inv.ExpiresAt) {
		return
	}
	s.plan.Outcome = "expired"
	s.setInvoice(*inv, func(c *InvoiceChange) { c.Status = InvoiceExpired })
	s.audit("invoice", string(inv.Number), "expired", "", nil)
	s.event(LedgerEvent{Kind: EventInvoiceExpired})
}

// newInvoice creates an invoice with its text and first prompt, once per
// idempotency key.
func (s *settling) newInvoice(e InvoiceEvent) error {
	o := e.Order
	if inv := s.st.KeyInvoice; inv != nil {
		if s.st.KeyInvoiceHash != "" && o.RequestHash != "" && s.st.KeyInvoiceHash != o.RequestHash {
			return Errorf(EKeyReused, "this Idempotency-Key was already used for a different request; use a new key for a new invoice")
		}
		s.plan.Outcome, s.plan.KeyInvoice = OutcomeDuplicate, inv
		return nil
	}
	inv := o.Invoice
	if inv.Total != inv.Fee+inv.ConvenienceFee || inv.Fee < 0 || inv.ConvenienceFee < 0 {
		return Errorf(EInvalid, "invoice total does not add up")
	}
	inv.Status, inv.Received = InvoicePending, 0
	s.plan.Outcome = "created"
	s.plan.NewInvoice = &InvoiceOrder{Invoice: inv, Key: o.Key, RequestHash: o.RequestHash, Checkout: o.Checkout}
	detail := map[string]any{"total": inv.Total, "service": inv.ServiceCode}
	if o.Message != nil {
		s.message(*o.Message, "invoice:"+string(inv.Number))
	}
	if p := o.Push; p != nil {
		// Whoever asks for an invoice asks for its prompt: a prompt to
		// another phone than the invoice's is a stranger's.
		stranger := p.Payer != inv.Phone
		if stranger && e.Cap > 0 && s.st.StrangerPrompts >= e.Cap {
			return strangerCapped(p.Payer, s.st.StrangerPrompts)
		}
		s.plan.NewPrompt = &NewPrompt{Attempt: Attempt{Invoice: inv.Number, Payer: p.Payer, Amount: inv.Due(), Status: AttemptQueued,
			CreatedAt: s.st.Now, UpdatedAt: s.st.Now}, RunAt: p.RunAt, Stranger: stranger}
		detail["push_to"] = p.Payer.Masked()
	}
	if c := o.Checkout; c != nil {
		job := *c
		job.Invoice = inv.Number
		runAt := s.st.Now
		if o.CheckoutAt.After(runAt) {
			runAt = o.CheckoutAt
		}
		s.plan.Jobs = append(s.plan.Jobs, JobPlan{Kind: JobCheckout, Payload: job, RunAt: runAt, Dedupe: CheckoutDedupe(inv.Number)})
		detail["billing"] = "ecitizen"
	}
	s.audit("invoice", string(inv.Number), "created", "", detail)
	s.event(LedgerEvent{Kind: EventInvoiceCreated})
	return nil
}

// strangerCapped refuses a stranger's prompt to a phone that has had the
// cap's worth.
func strangerCapped(payer MSISDN, n int) error {
	return Errorf(ERateLimited, "%s has had %d M-Pesa prompts from other phones in the last hour, the most allowed; "+
		"it can still pay by paybill, or ask for the prompt itself", payer.Masked(), n)
}

// promptable refuses a prompt, by Daraja or by e-Citizen, for an
// invoice that is missing, paid or past its life.
func (s *settling) promptable(n InvoiceNumber) error {
	inv := s.st.Invoice
	switch {
	case inv == nil:
		return Errorf(ENotFound, "no invoice %s", n)
	case inv.Status == InvoicePaid:
		return Errorf(EConflict, "invoice %s is already paid", inv.Number)
	case inv.Status == InvoiceExpired || !s.st.Now.Before(inv.ExpiresAt):
		return Errorf(EConflict, "invoice %s has expired", inv.Number)
	}
	return nil
}

// prompt queues a prompt for the balance due of a payable invoice with
// none in flight: at most one prompt at a time, and a paid invoice is
// never prompted again.
func (s *settling) prompt(e PromptEvent) error {
	if a := s.st.KeyPrompt; a != nil {
		s.plan.Outcome, s.plan.Prompt = OutcomeDuplicate, a
		return nil
	}
	if err := s.promptable(e.Invoice); err != nil {
		return err
	}
	inv := s.st.Invoice
	for _, a := range s.st.InFlight {
		if a.UpdatedAt.After(s.st.Now.Add(-PromptLife)) {
			return Errorf(EConflict, "a prompt for invoice %s is already on its way", inv.Number)
		}
	}
	stranger := !e.ByPayer && e.Payer != inv.Phone
	if stranger && e.Cap > 0 && s.st.StrangerPrompts >= e.Cap {
		return strangerCapped(e.Payer, s.st.StrangerPrompts)
	}
	for _, a := range s.st.InFlight {
		// Past its life, M-Pesa has long given up on it: the new prompt
		// replaces it.
		s.plan.StalePrompts = append(s.plan.StalePrompts, a.ID)
	}
	s.plan.Outcome = "queued"
	s.plan.NewPrompt = &NewPrompt{Attempt: Attempt{Invoice: inv.Number, Payer: e.Payer, Amount: inv.Due(), Status: AttemptQueued,
		CreatedAt: s.st.Now, UpdatedAt: s.st.Now}, RunAt: e.RunAt, Key: e.Dedupe, Stranger: stranger}
	s.audit("invoice", string(inv.Number), "push_queued", "", map[string]any{"payer": e.Payer.Masked(), "amount": inv.Due()})
	return nil
}

// pushAccepted records M-Pesa's acceptance of a queued prompt and
// schedules its status query.
func (s *settling) pushAccepted(e PushAcceptedEvent) error {
	a := s.st.Attempt
	switch {
	case a == nil:
		return Errorf(ENotFound, "no prompt %d", e.Attempt)
	case a.Status != AttemptQueued:
		s.plan.Outcome = OutcomeDuplicate // a callback raced ahead, or it went stale
		return nil
	}
	s.plan.Outcome = "sent"
	s.plan.Attempt = &AttemptChange{ID: a.ID, Status: AttemptSent, CheckoutRequestID: e.Result.CheckoutRequestID, MerchantRequestID: e.Result.MerchantRequestID}
	s.plan.Jobs = append(s.plan.Jobs, JobPlan{Kind: JobQuery, Payload: PromptJob{AttemptID: a.ID}, RunAt: e.QueryAt})
	return nil
}

// pushNotSent ends a queued prompt that will never be sent. Its payer,
// told to check their phone, is texted how to pay instead, once per
// prompt; unless its invoice was paid or expired first, when there is
// nothing to pay.
func (s *settling) pushNotSent(e PushNotSentEvent) error {
	a, inv := s.st.Attempt, s.st.Invoice
	switch {
	case a == nil:
		return Errorf(ENotFound, "no prompt %d", e.Attempt)
	case a.Status != AttemptQueued:
		s.plan.Outcome = OutcomeDuplicate // sent, settled or replaced meanwhile
		return nil
	}
	reason := clipText(Redact(e.Reason), 300)
	if inv == nil || inv.Status == InvoicePaid || inv.Status == InvoiceExpired {
		s.plan.Outcome = "rejected"
		s.plan.Attempt = &AttemptChange{ID: a.ID, Status: AttemptRejected, ResultDesc: reason}
		s.audit("attempt", fmt.Sprint(a.ID), "push_rejected", "", map[string]any{"reason": reason})
		return nil
	}
	s.plan.Outcome = "unsent"
	s.plan.Attempt = &AttemptChange{ID: a.ID, Status: AttemptUnsent, ResultDesc: reason}
	if s.texts != nil {
		s.message(s.texts.PromptUnsent(*inv, a.Payer), UnsentDedupe(a.ID))
	}
	s.audit("attempt", fmt.Sprint(a.ID), "push_unsent", "", map[string]any{"reason": reason})
	return nil
}

// refundStep moves a refund on its way: its status only moves forward,
// so a reversal reaches M-Pesa at most once.
func (s *settling) refundStep(e RefundStepEvent) error {
	f := s.st.Refund
	if f == nil {
		return Errorf(ENotFound, "no refund %d", e.Refund)
	}
	from, to, action := RefundSending, RefundSending, ""
	change := &RefundChange{ID: f.ID, ResultCode: f.ResultCode, ResultDesc: f.ResultDesc}
	detail := map[string]any{"refund": f.ID}
	switch e.Step {
	case RefundClaim:
		if f.Status != RefundQueued {
			s.plan.Outcome = OutcomeDuplicate // claimed by another worker, or ended
			return nil
		}
		from, action = RefundQueued, "refund_sending"
	case RefundUnclaim:
		to, action, detail["why"] = RefundQueued, "refund_not_sent", Redact(e.Why)
	case RefundAccepted:
		to, action, detail["conversation"] = RefundSent, "refund_sent", e.Accepted.ConversationID
		change.ConversationID, change.OriginatorConversationID = e.Accepted.ConversationID, e.Accepted.OriginatorConversationID
	case RefundUnknown:
		action, detail["why"] = "refund_outcome_unknown", Redact(e.Why)
	default:
		return fmt.Errorf("refund step %q", e.Step)
	}
	if f.Status != from {
		return Errorf(EConflict, "refund %d is %s, not %s", f.ID, f.Status, from)
	}
	change.Status = to
	s.plan.Outcome, s.plan.Refund = Outcome(e.Step), change
	s.audit("payment", f.TransID, action, f.TransID, detail)
	return nil
}

// changeOf is a payment's state as a change that changes nothing yet.
func changeOf(p ReceivedPayment) PaymentChange {
	return PaymentChange{ID: p.ID, TransID: p.TransID, Applied: p.Applied, Suspense: p.Suspense, Refunded: p.Refunded, State: p.State,
		Reason: p.Reason, Note: p.Note, SuspenseSince: p.SuspenseSince, Checkout: p.Checkout}
}

// maskedMSISDN is what is kept of the number M-Pesa sent: masked already
// on C2B ("2547 ***** 126"); a full number is masked here, since the full
// one is kept apart (Phone) for texts only.
func maskedMSISDN(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.Contains(raw, "*") {
		return raw
	}
	return MaskPhone(raw)
}

// fullPhone returns the payer's number when raw is a whole one.
func fullPhone(raw string) MSISDN {
	if strings.Contains(raw, "*") {
		return ""
	}
	p, err := ParseMSISDN(raw)
	if err != nil {
		return ""
	}
	return p
}

// SamePhone reports whether a (possibly masked) number M-Pesa sent can be
// phone: its visible leading and trailing digits agree (either unknown:
// it can).
func SamePhone(masked string, phone MSISDN) bool {
	m := strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(masked), "+"), " ", "")
	if m == "" || phone == "" {
		return true // nothing to tell them apart
	}
	d := phone.Digits()
	head, tail, cut := strings.Cut(m, "*")
	if !cut {
		return m == d
	}
	tail = strings.TrimLeft(tail, "*")
	return strings.HasPrefix(d, head) && strings.HasSuffix(d, tail)
}

// clipText bounds text from outside (an account typed on a phone) and
// makes it one clean line (CleanLine).
func clipText(s string, n int) string {
	s = CleanLine(s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}
