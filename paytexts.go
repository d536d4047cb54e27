package huduma

// ReceiptFunc builds the receipt SMS for a settled invoice.
type ReceiptFunc func(inv Invoice) Message

// PaymentTexts builds the texts a settlement queues in the transaction
// that records it, so a payment and the SMS about it commit together.
type PaymentTexts interface {
	// Receipt is the receipt of an invoice now paid in full.
	Receipt(inv Invoice) Message
	// Notice is the text about a payment event, or false when nobody can
	// be told (no known phone).
	Notice(n PaymentNotice) (Message, bool)
	// PromptUnsent tells payer, told to check their phone, that the
	// prompt for inv will not come, and how to pay instead.
	PromptUnsent(inv Invoice, payer MSISDN) Message
	// Billed tells the invoice's phone its e-Citizen bill number (inv.Bill)
	// and how to pay it from its network.
	Billed(inv Invoice) Message
	// CheckoutFailed tells the invoice's phone that e-Citizen could not
	// bill the invoice, so it cannot be paid yet.
	CheckoutFailed(inv Invoice) Message
}

// Receipt makes a ReceiptFunc a PaymentTexts.
func (f ReceiptFunc) Receipt(inv Invoice) Message { return f(inv) }

// Notice sends no notices: a ReceiptFunc only knows receipts.
func (f ReceiptFunc) Notice(PaymentNotice) (Message, bool) { return Message{}, false }

// PromptUnsent sends nothing: a ReceiptFunc only knows receipts.
func (f ReceiptFunc) PromptUnsent(Invoice, MSISDN) Message { return Message{} }

// Billed sends nothing: a ReceiptFunc only knows receipts.
func (f ReceiptFunc) Billed(Invoice) Message { return Message{} }

// CheckoutFailed sends nothing: a ReceiptFunc only knows receipts.
func (f ReceiptFunc) CheckoutFailed(Invoice) Message { return Message{} }

// NoticeKind names a payment event the payer is told about.
type NoticeKind string

// Payment notices.
const (
	NoticePartial  NoticeKind = "partial"  // applied; a balance remains
	NoticeOverpaid NoticeKind = "overpaid" // the invoice is paid; the rest is held for refund
	NoticeHeld     NoticeKind = "held"     // nothing applied; all of it held (Reason says why)
	NoticeApplied  NoticeKind = "applied"  // an officer applied held money to an invoice
	NoticeRefunded NoticeKind = "refunded" // the held money went back to the payer
)

// PaymentNotice is a payment event, for the text that tells the payer.
type PaymentNotice struct {
	Kind    NoticeKind
	Payment ReceivedPayment
	// Invoice is the invoice concerned, after the change (nil: none).
	Invoice *Invoice
	// Amount is what this event moved (applied, held or refunded).
	Amount int64
	Reason SuspenseReason
}
