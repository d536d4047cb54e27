package huduma

import "time"

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
