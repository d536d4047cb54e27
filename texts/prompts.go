package texts

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// promptUnsentSMS tells a payer who was told to check their phone that the
// M-Pesa prompt will not come, and what to do instead: pay by paybill, or
// ask for a new prompt from the status screen (CheckStatus, then "Resend
// the M-Pesa prompt").
var promptUnsentSMS = Text{"M-Pesa prompt for invoice %s was not sent. Pay KES %s to Paybill %s, Account %s, or dial %s > %s to resend it.",
	"Ombi la M-Pesa la ankara %s halikutumwa. Lipa KES %s kwa Paybill %s, Akaunti %s, au piga %s > %s ulitume tena."}

// PromptUnsentSMS is the text for a prompt that will never come (Daraja
// refused it, was down too long, or it would come too late): the balance
// due, the paybill steps, and where to ask for a new prompt, in the
// invoice's language.
func PromptUnsentSMS(inv huduma.Invoice, paybill, serviceCode string) string {
	lang := inv.Language
	return gsm7.Fold(promptUnsentSMS.F(lang, inv.Number, Money(inv.Due()), paybill, inv.Number, serviceCode, CheckStatus.T(lang)))
}
