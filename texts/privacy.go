package texts

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// What a phone is told of what is not its own. Anyone may look an invoice
// up by its number, to pay it, so the answer about another phone's
// invoice holds only what is public: its state and what is due, never the
// M-Pesa receipt or how the payer's prompt went. And a phone may be sent
// only so many M-Pesa prompts by others in an hour.
var (
	statusPaidPublic   = Text{"Invoice %s is PAID (KES %d).", "Ankara %s IMELIPWA (KES %d)."}
	statusUnpaidPublic = Text{"Invoice %s is NOT PAID. Pay KES %d to Paybill %s, Account %s.", "Ankara %s HAIJALIPWA. Lipa KES %d kwa Paybill %s, Akaunti %s."}

	// PromptCapped refuses "Pay from another number" (USSD) to a phone
	// that has had too many prompts from others this hour.
	PromptCapped = Text{"That number has had too many M-Pesa prompts from others this hour. Try later, or another number.",
		"Nambari hiyo imepokea maombi mengi ya M-Pesa kutoka kwa wengine saa hii. Jaribu baadaye, au nambari nyingine."}
	// SMSPayCapped refuses PAY for someone else's invoice when the
	// sender's phone has had too many such prompts this hour.
	SMSPayCapped = Text{"This phone has had too many M-Pesa prompts for others' invoices this hour. Pay KES %d by M-Pesa Paybill %s, Account %s, or try later.",
		"Simu hii imepokea maombi mengi ya M-Pesa ya ankara za wengine saa hii. Lipa KES %d kwa M-Pesa Paybill %s, Akaunti %s, au jaribu baadaye."}
)

// PublicStatusSMS answers STATUS (or a PAY that cannot prompt) about an
// invoice of another phone: paid or not and what is due, without the
// M-Pesa receipt or the failed prompt's reason.
func PublicStatusSMS(inv huduma.Invoice, lang huduma.Language, paybill string) string {
	switch {
	case inv.Status == huduma.InvoicePaid:
		return statusPaidPublic.F(lang, inv.Number, inv.Total)
	case inv.Status == huduma.InvoiceExpired:
		return statusExpSMS.F(lang, inv.Number)
	case inv.Received > 0:
		return gsm7.Fold(partialSMS.F(lang, inv.Number, Balance(inv, lang), paybill, inv.Number))
	case inv.Status == huduma.InvoiceFailed, inv.Status == huduma.InvoiceCancelled:
		return statusUnpaidPublic.F(lang, inv.Number, inv.Due(), paybill, inv.Number)
	}
	return statusPendSMS.F(lang, inv.Number, inv.Due(), paybill, inv.Number)
}
