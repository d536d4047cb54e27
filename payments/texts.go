package payments

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// paymentTexts are the texts settlements queue: the receipt, and what
// happened to a payment, told to the payer.
type paymentTexts struct{ s *Service }

func (s *Service) texts() huduma.PaymentTexts { return paymentTexts{s} }

func (t paymentTexts) Receipt(inv huduma.Invoice) huduma.Message { return t.s.receipt(inv) }

// PromptUnsent tells the payer, who was told to check their phone, that
// the prompt will not come: the steps of paying by hand from the payer's
// network and where to ask for a new prompt, in the invoice's language.
func (t paymentTexts) PromptUnsent(inv huduma.Invoice, payer huduma.MSISDN) huduma.Message {
	return huduma.Message{To: payer, Kind: huduma.MessagePayment, Body: texts.PromptUnsentSMS(inv, payer, t.s.how(), t.s.cfg.ServiceCode)}
}

// Notice goes to the payer when their number is known in full (a prompt,
// an unmasked MSISDN), else to the owner of the invoice the payment
// named; a payment from a masked number for no invoice reaches nobody,
// and waits on the finance officer's list. It speaks the invoice's
// language.
func (t paymentTexts) Notice(n huduma.PaymentNotice) (huduma.Message, bool) {
	to, lang := n.Payment.Phone, huduma.English
	if n.Invoice != nil {
		lang = n.Invoice.Language
		if to == "" {
			to = n.Invoice.Phone
		}
	}
	needsInvoice := n.Kind == huduma.NoticePartial || n.Kind == huduma.NoticeOverpaid || n.Kind == huduma.NoticeApplied
	if to == "" || needsInvoice && n.Invoice == nil {
		return huduma.Message{}, false
	}
	var body string
	switch n.Kind {
	case huduma.NoticePartial:
		body = texts.PartialSMS(*n.Invoice, to, t.s.how())
	case huduma.NoticeOverpaid:
		body = texts.OverpaidSMS(n.Payment, *n.Invoice, n.Amount)
	case huduma.NoticeHeld:
		body = texts.HeldSMS(n.Payment, n.Invoice, lang, t.s.cfg.ServiceCode)
	case huduma.NoticeApplied:
		body = texts.AppliedSMS(n.Payment, *n.Invoice, n.Amount)
	case huduma.NoticeRefunded:
		body = texts.RefundedSMS(n.Payment, n.Amount, lang)
	default:
		return huduma.Message{}, false
	}
	return huduma.Message{To: to, Kind: huduma.MessagePayment, Body: body}, true
}

// Billed tells the invoice's phone its e-Citizen bill number and how to
// pay it from its network, in the invoice's language.
func (t paymentTexts) Billed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageInvoice, Body: texts.BilledSMS(inv, t.s.how())}
}

// CheckoutFailed tells the invoice's phone that e-Citizen never billed
// the invoice, so there is nothing to pay yet.
func (t paymentTexts) CheckoutFailed(inv huduma.Invoice) huduma.Message {
	return huduma.Message{To: inv.Phone, Kind: huduma.MessagePayment, Body: texts.CheckoutFailedSMS(inv, t.s.cfg.ServiceCode)}
}
