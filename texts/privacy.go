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
	statusUnpaidPublic = Text{"Invoice %s is NOT PAID. %s", "Ankara %s HAIJALIPWA. %s"}

	// PromptCapped refuses "Pay from another number" (USSD) to a phone
	// that has had too many prompts from others this hour.
	PromptCapped = Text{"That number has had too many M-Pesa prompts from others this hour. Try later, or another number.",
		"Nambari hiyo imepokea maombi mengi ya M-Pesa kutoka kwa wengine saa hii. Jaribu baadaye, au nambari nyingine."}
	// SMSPayCapped refuses PAY for someone else's invoice when the
	// sender's phone has had too many such prompts this hour; its
	// argument is the steps of paying by hand.
	SMSPayCapped = Text{"This phone has had too many M-Pesa prompts for others' invoices this hour. Try later, or: %s",
		"Simu hii imepokea maombi mengi ya M-Pesa ya ankara za wengine saa hii. Jaribu baadaye, au: %s"}
)

// PublicStatusSMS answers STATUS (or a PAY that cannot prompt) from to
// about an invoice of another phone: paid or not and what is due, and how
// to pay it from to's network, without the M-Pesa receipt or the failed
// prompt's reason.
func PublicStatusSMS(inv huduma.Invoice, lang huduma.Language, to huduma.MSISDN, how HowToPay) string {
	switch {
	case inv.Status == huduma.InvoicePaid:
		return statusPaidPublic.F(lang, inv.Number, inv.Total)
	case inv.Status == huduma.InvoiceExpired:
		return statusExpSMS.F(lang, inv.Number)
	case inv.Received > 0:
		return partial(inv, lang, how.For(to, inv, lang))
	case inv.Status == huduma.InvoiceFailed, inv.Status == huduma.InvoiceCancelled:
		return gsm7.Fold(statusUnpaidPublic.F(lang, inv.Number, how.For(to, inv, lang)))
	}
	return gsm7.Fold(statusPendSMS.F(lang, inv.Number, how.For(to, inv, lang)))
}
