package texts

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// Texts of the ecitizen billing backend, where e-Citizen's bill number is
// the account a payer quotes on every network.
var (
	billedSMS = Text{"eCitizen bill %s for invoice %s (%s). %s", "Bili ya eCitizen %s ya ankara %s (%s). %s"}
	// billedShort is billedSMS when even a short name would make it two
	// SMS (the longest networks' steps).
	billedShort       = Text{"Bill %s, inv %s: %s", "Bili %s, ankara %s: %s"}
	checkoutFailedSMS = Text{"Sorry, invoice %s could not be billed on eCitizen, so it cannot be paid yet. Do not pay it; order it again later from %s.",
		"Samahani, ankara %s haikuweza kuwekwa kwenye eCitizen, kwa hivyo haiwezi kulipwa sasa. Usiilipe; iagize tena baadaye kwa %s."}
	// DoneBillBySMS ends an order whose bill number e-Citizen had not
	// given within the hop: it comes by SMS.
	DoneBillBySMS = Text{"Invoice %s\nTotal KES %s\nYour eCitizen bill number and how to pay it will come by SMS shortly.",
		"Ankara %s\nJumla KES %s\nNambari ya bili ya eCitizen na jinsi ya kulipa zitakuja kwa SMS punde."}
	// DoneBillPrompt ends an order billed on e-Citizen with a prompt on
	// its way: the bill number, in case the payer pays by hand instead.
	DoneBillPrompt = Text{"Invoice %s\neCitizen bill %s\nTotal KES %s\nCheck your phone for the M-Pesa prompt and enter your PIN.",
		"Ankara %s\nBili ya eCitizen %s\nJumla KES %s\nAngalia simu yako kwa ombi la M-Pesa na uweke PIN yako."}
)

// OwnPhoneOnly refuses a prompt to another phone than the invoice's on
// e-Citizen (whose prompt names no requester); SMSOwnPhoneOnly is the SMS
// answer, with the steps of paying by hand.
var (
	OwnPhoneOnly    = Text{"The prompt goes only to the phone that got the invoice. Pay by its steps instead.", "Ombi huenda kwa simu iliyopata ankara tu. Lipa kwa hatua zake badala yake."}
	SMSOwnPhoneOnly = Text{"Prompts for this invoice go only to the phone that got it. %s", "Maombi ya ankara hii huenda kwa simu iliyoipata tu. %s"}
)

// SMSPayBillComing answers PAY for an invoice e-Citizen has not billed
// yet: no prompt can be asked for before its bill exists.
var SMSPayBillComing = Text{"Invoice %s is not on eCitizen yet. Its bill number and how to pay it come by SMS shortly.",
	"Ankara %s bado haijawekwa kwenye eCitizen. Nambari yake ya bili na jinsi ya kuilipa zitakuja kwa SMS punde."}

// BillComing stands for the steps of paying in an SMS reply whose bill
// number had not come in time.
var BillComing = Text{"The eCitizen bill number to pay it with comes by SMS shortly.", "Nambari ya bili ya eCitizen ya kuilipa inakuja kwa SMS punde."}

// BilledSMS tells the invoice's phone its e-Citizen bill number and the
// steps of paying it from that phone's network (the steps quote the bill
// number as the account, with the balance due), in one SMS: the
// service's name gives way first, then the wording.
func BilledSMS(inv huduma.Invoice, how HowToPay) string {
	steps := how.For(inv.Phone, inv, inv.Language)
	s := oneSMS(func(name string) string {
		return gsm7.Fold(billedSMS.F(inv.Language, inv.Bill, inv.Number, name, steps))
	}, Clip(inv.ServiceName, 40))
	if n, _ := gsm7.Septets(s); n > 160 {
		s = gsm7.Fold(billedShort.F(inv.Language, inv.Bill, inv.Number, steps))
	}
	return s
}

// CheckoutFailedSMS tells the invoice's phone that e-Citizen never billed
// the invoice.
func CheckoutFailedSMS(inv huduma.Invoice, serviceCode string) string {
	return gsm7.Fold(checkoutFailedSMS.F(inv.Language, inv.Number, serviceCode))
}
