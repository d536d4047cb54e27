package huduma

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

// Settlement says what recording (or applying) a payment did.
type Settlement struct {
	Outcome Outcome `json:"outcome"`
	// Reason is why money was held (Outcome suspense or overpaid).
	Reason   SuspenseReason `json:"reason,omitempty"`
	Invoice  InvoiceNumber  `json:"invoice,omitempty"`
	Applied  int64          `json:"applied"`
	Suspense int64          `json:"suspense"`
}
