package texts

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// promptUnsentSMS tells a payer who was told to check their phone that the
// M-Pesa prompt will not come, and what to do instead: pay by hand, or
// ask for a new prompt from the status screen (CheckStatus, then "Resend
// the M-Pesa prompt").
var promptUnsentSMS = Text{"M-Pesa prompt for invoice %s was not sent. %s Or dial %s > %s to resend it.",
	"Ombi la M-Pesa la ankara %s halikutumwa. %s Au piga %s > %s ulitume tena."}

// PromptUnsentSMS is the text to payer for a prompt that will never come
// (Daraja refused it, was down too long, or it would come too late): the
// steps of paying by hand from payer's network, which carry the balance
// due, and where to ask for a new prompt, in the invoice's language. It
// takes two SMS parts where the steps are long: each of its three parts
// is something the payer can act on.
func PromptUnsentSMS(inv huduma.Invoice, payer huduma.MSISDN, how HowToPay, serviceCode string) string {
	lang := inv.Language
	return gsm7.Fold(promptUnsentSMS.F(lang, inv.Number, how.For(payer, inv, lang), serviceCode, CheckStatus.T(lang)))
}
