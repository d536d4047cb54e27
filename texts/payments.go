package texts

import (
	"strconv"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// Texts about a payment's money: the balance of a part-paid invoice, and
// what happened to a payment that was more than needed or matched nothing
// (held in suspense), applied by an officer, or refunded. Each says what
// happened and what, if anything, the payer should do.
var (
	balance     = Text{"KES %s of %s received, KES %s to pay", "KES %s kati ya %s zimepokelewa, KES %s bado kulipa"}
	received    = Text{"KES %s of %s received", "KES %s kati ya %s zimepokelewa"}
	partialSMS  = Text{"eCitizen invoice %s: %s. %s", "Ankara ya eCitizen %s: %s. %s"}
	overpaidSMS = Text{"eCitizen invoice %s is PAID. %s was KES %s more than the total: that is held and will be refunded to your M-Pesa. No action needed.",
		"Ankara ya eCitizen %s IMELIPWA. %s ilizidi jumla kwa KES %s: zimehifadhiwa na zitarejeshwa kwa M-Pesa yako. Huhitaji kufanya lolote."}
	heldPaidSMS = Text{"%s of KES %s: invoice %s was already paid. The money is held safely and will be refunded to your M-Pesa. No action needed.",
		"%s ya KES %s: ankara %s ilikuwa imeshalipwa. Pesa zimehifadhiwa salama na zitarejeshwa kwa M-Pesa yako. Huhitaji kufanya lolote."}
	heldExpiredSMS = Text{"%s of KES %s: invoice %s had expired. The money is held safely. Dial %s for a new invoice and quote %s to the agency.",
		"%s ya KES %s: ankara %s ilikuwa imeisha muda. Pesa zimehifadhiwa salama. Piga %s upate ankara mpya na utaje %s kwa idara."}
	heldUnknownSMS = Text{"%s of KES %s: account %s is not an eCitizen invoice. The money is held safely. Quote %s to the agency to apply or refund it.",
		"%s ya KES %s: akaunti %s si ankara ya eCitizen. Pesa zimehifadhiwa salama. Taja %s kwa idara ili zitumike au zirejeshwe."}
	appliedSMS     = Text{"KES %s of %s was applied to eCitizen invoice %s: %s.", "KES %s za %s zimetumika kwa ankara ya eCitizen %s: %s."}
	invoicePaid    = Text{"the invoice is PAID", "ankara IMELIPWA"}
	refundedSMS    = Text{"KES %s of %s has been refunded to your M-Pesa.", "KES %s za %s zimerejeshwa kwa M-Pesa yako."}
	yourPayment    = Text{"Your M-Pesa payment %s", "Malipo yako ya M-Pesa %s"}
	yourPaymentRef = Text{"Your M-Pesa payment", "Malipo yako ya M-Pesa"}
	paymentRef     = Text{"M-Pesa %s", "M-Pesa %s"}
	paymentNoRef   = Text{"your M-Pesa payment", "malipo yako ya M-Pesa"}
)

// Money writes whole shillings the way people read them: 4,600.
func Money(v int64) string {
	s := strconv.FormatInt(max(v, -v), 10)
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if v < 0 {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Balance is the balance line of a part-paid invoice ("KES 300 of 4,600
// received, KES 4,300 to pay"), on its USSD screen and in texts.
func Balance(inv huduma.Invoice, lang huduma.Language) string {
	return balance.F(lang, Money(inv.Received), Money(inv.Total), Money(inv.Due()))
}

// PartialSMS tells to, who paid part of an invoice, what was received and
// how to pay the rest from to's network.
func PartialSMS(inv huduma.Invoice, to huduma.MSISDN, how HowToPay) string {
	return partial(inv, inv.Language, how.For(to, inv, inv.Language))
}

// partial is a part-paid invoice's text: what was received, then steps,
// which carry the balance due.
func partial(inv huduma.Invoice, lang huduma.Language, steps string) string {
	return gsm7.Fold(partialSMS.F(lang, inv.Number, received.F(lang, Money(inv.Received), Money(inv.Total)), steps))
}

// subject names a payment at the start of a sentence: "Your M-Pesa
// payment SIM1234567" (no receipt yet for a prompt a status query
// confirmed: "Your M-Pesa payment").
func subject(p huduma.ReceivedPayment, lang huduma.Language) string {
	if p.Provisional() {
		return yourPaymentRef.T(lang)
	}
	return yourPayment.F(lang, Clip(p.TransID, 20))
}

// ref names a payment inside a sentence: "M-Pesa SIM1234567".
func ref(p huduma.ReceivedPayment, lang huduma.Language) string {
	if p.Provisional() {
		return paymentNoRef.T(lang)
	}
	return paymentRef.F(lang, Clip(p.TransID, 20))
}

// OverpaidSMS tells the payer the invoice is paid and the rest is held
// for refund.
func OverpaidSMS(p huduma.ReceivedPayment, inv huduma.Invoice, held int64) string {
	return gsm7.Fold(overpaidSMS.F(inv.Language, inv.Number, subject(p, inv.Language), Money(held)))
}

// HeldSMS tells the payer a payment matched no payable invoice and is
// held, and what to do. inv is the invoice the account named (nil: none).
func HeldSMS(p huduma.ReceivedPayment, inv *huduma.Invoice, lang huduma.Language, serviceCode string) string {
	who := subject(p, lang)
	switch {
	case inv != nil && p.Reason == huduma.ReasonInvoiceExpired:
		return gsm7.Fold(heldExpiredSMS.F(lang, who, Money(p.Suspense), inv.Number, serviceCode, Clip(p.TransID, 20)))
	case inv != nil:
		return gsm7.Fold(heldPaidSMS.F(lang, who, Money(p.Suspense), inv.Number))
	}
	return gsm7.Fold(heldUnknownSMS.F(lang, who, Money(p.Suspense), Clip(p.Account, 20), Clip(p.TransID, 20)))
}

// AppliedSMS tells the payer an officer applied held money to an invoice,
// and where the invoice stands.
func AppliedSMS(p huduma.ReceivedPayment, inv huduma.Invoice, amount int64) string {
	state := invoicePaid.T(inv.Language)
	if inv.Due() > 0 {
		state = Balance(inv, inv.Language)
	}
	return gsm7.Fold(appliedSMS.F(inv.Language, Money(amount), ref(p, inv.Language), inv.Number, state))
}

// RefundedSMS tells the payer held money went back to their M-Pesa.
func RefundedSMS(p huduma.ReceivedPayment, amount int64, lang huduma.Language) string {
	return gsm7.Fold(refundedSMS.F(lang, Money(amount), ref(p, lang)))
}
