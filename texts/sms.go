package texts

import (
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// SMS texts. Each builder returns the body folded to GSM-7; the callers
// queue it. Codes come in as arguments (HUDUMA_SERVICE_CODE,
// MPESA_SHORTCODE), and so do the steps of paying by hand (HowToPay),
// which follow the network of the phone a text goes to and carry the
// amount and the account.
var (
	invoiceSMS = Text{"eCitizen invoice %s: %s %s", "Ankara ya eCitizen %s: %s %s"}
	receiptSMS = Text{"PAID: eCitizen invoice %s, %s, KES %d. M-Pesa ref %s on %s. Thank you.",
		"IMELIPWA: ankara ya eCitizen %s, %s, KES %d. M-Pesa %s tarehe %s. Asante."}
	receiptAppSMS = Text{"PAID: eCitizen invoice %s, %s, KES %d. M-Pesa ref %s on %s. Track it as application %s.",
		"IMELIPWA: ankara ya eCitizen %s, %s, KES %d. M-Pesa %s tarehe %s. Fuatilia ombi %s."}
	receiptConfirmed = Text{"confirmed", "imethibitishwa"}
	detailsSMS       = Text{"%s (code %d): fee KES %d, total KES %d incl. KES %d convenience fee. Dial %s to pay.",
		"%s (nambari %d): ada KES %d, jumla KES %d pamoja na ada ya KES %d. Piga %s kulipa."}
	otpSMS       = Text{"Your eCitizen code is %s. It expires in %d minutes. Never share it.", "Nambari yako ya siri ya eCitizen ni %s. Itaisha baada ya dakika %d. Usiitoe kwa mtu."}
	appStatusSMS = Text{"Application %s (%s): %s since %s.", "Ombi %s (%s): %s tangu %s."}
	lateMore     = Text{"Dial %s to continue.", "Piga %s kuendelea."}

	helpSMS = Text{"eCitizen by SMS: FIND <name>, INFO <code>, INVOICE <code>, PAY <invoice>, STATUS <invoice>, APP <no.>, LANG EN/SW, STOP. Or dial %s.",
		"eCitizen kwa SMS: TAFUTA <jina>, INFO <nambari>, ANKARA <nambari>, LIPA <ankara>, HALI <ankara>, OMBI <nambari>, LUGHA EN/SW, SITISHA. Au piga %s."}
	badInvoiceSMS = Text{"That invoice number is not valid. Send STATUS and the 10-digit invoice number.",
		"Nambari hiyo ya ankara si sahihi. Tuma HALI na nambari ya ankara ya tarakimu 10."}
	noInvoiceSMS = Text{"No invoice has that number.", "Hakuna ankara yenye nambari hiyo."}
	noAppSMS     = Text{"No application has that number. Send APP and the application number, or the invoice number you paid.",
		"Hakuna ombi lenye nambari hiyo. Tuma OMBI na nambari ya ombi, au ya ankara uliyolipa."}
	stopSMS = Text{"You will no longer get eCitizen notices. Answers to your texts, receipts and codes still come. Send START to resume.",
		"Hutapokea tena taarifa za eCitizen. Majibu ya ujumbe wako, risiti na nambari za siri zitaendelea. Tuma ANZA kurejesha."}
	startSMS       = Text{"eCitizen notices are on again.", "Taarifa za eCitizen zimerejeshwa."}
	statusPaidSMS  = Text{"Invoice %s is PAID (KES %d), M-Pesa ref %s.", "Ankara %s IMELIPWA (KES %d), M-Pesa %s."}
	statusAppSMS   = Text{" Application %s.", " Ombi %s."}
	statusExpSMS   = Text{"Invoice %s has EXPIRED.", "Ankara %s IMEISHA MUDA."}
	statusUnpaid   = Text{"Invoice %s is NOT PAID: %s. %s", "Ankara %s HAIJALIPWA: %s. %s"}
	statusPendSMS  = Text{"Invoice %s is PENDING. %s", "Ankara %s INASUBIRI. %s"}
	otpLifeMinutes = 5
)

// eat is East Africa Time, in which people read dates.
var eat = time.FixedZone("EAT", 3*3600)

// Clip shortens s to at most n bytes, marking the cut with "...".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimRight(s[:n-3], " ") + "..."
}

// InvoiceSMS is the invoice text to the invoice's phone: number, service,
// and how to pay it from that phone's network (the steps carry the total
// and the account). The service's name gives way to keep it to one SMS.
func InvoiceSMS(inv huduma.Invoice, how HowToPay) string {
	steps := how.For(inv.Phone, inv, inv.Language)
	return oneSMS(func(name string) string {
		if !strings.HasSuffix(name, "...") {
			name += "." // a name cut short ends its sentence already
		}
		return gsm7.Fold(invoiceSMS.F(inv.Language, inv.Number, name, steps))
	}, Clip(inv.ServiceName, 40))
}

// oneSMS is body(name) with name shortened, down to 12 characters, until
// the whole fits one 160-character SMS; when even that would not, the
// name stays whole and the text takes two parts.
func oneSMS(body func(name string) string, name string) string {
	s := body(name)
	if n, _ := gsm7.Septets(body(Clip(name, 12))); n > 160 {
		return s
	}
	for n, _ := gsm7.Septets(s); n > 160 && len(name) > 12; n, _ = gsm7.Septets(s) {
		name = Clip(name, max(len(name)-(n-160), 12))
		s = body(name)
	}
	return s
}

// ReceiptSMS is the receipt (invoice, service, amount, M-Pesa receipt,
// date and the application the payment opened, to track), kept within
// one 160-character SMS: the service's name gives way first.
func ReceiptSMS(inv huduma.Invoice, when time.Time) string {
	ref := inv.MpesaReceipt
	if ref == "" {
		ref = receiptConfirmed.T(inv.Language)
	}
	date := when.In(eat).Format("02/01/2006 15:04")
	body := func(name string) string {
		if inv.Application == "" {
			return gsm7.Fold(receiptSMS.F(inv.Language, inv.Number, name, inv.Total, ref, date))
		}
		return gsm7.Fold(receiptAppSMS.F(inv.Language, inv.Number, name, inv.Total, ref, date, inv.Application))
	}
	return oneSMS(body, Clip(inv.ServiceName, 40))
}

// ServiceDetailsSMS is a service's fee and how to pay, for "SMS me details".
func ServiceDetailsSMS(sv huduma.Service, conv int64, lang huduma.Language, serviceCode string) string {
	return gsm7.Fold(detailsSMS.F(lang, Clip(sv.Name(lang), 50), sv.Code, sv.Fee, sv.Fee+conv, conv, serviceCode))
}

// OTPSMS is a one-time code's text.
func OTPSMS(code string, lang huduma.Language) string { return otpSMS.F(lang, code, otpLifeMinutes) }

// AppStatusSMS is an application's latest status and date; service is
// the service's name in lang.
func AppStatusSMS(a huduma.Application, service string, lang huduma.Language) string {
	s := appStatusSMS.F(lang, a.Number, Clip(service, 40), a.Status.Word(lang), a.UpdatedAt.In(eat).Format("02/01/2006"))
	if a.Note != "" {
		s += " " + Clip(a.Note, 60)
	}
	return gsm7.Fold(s)
}

// LateSMS is the text of a late hop's screen: the screen and, for a menu
// (not an END), how to carry on.
func LateSMS(lang huduma.Language, serviceCode string, reply huduma.Reply) string {
	text := gsm7.Fold(reply.Text)
	if !reply.End {
		text += "\n" + lateMore.F(lang, serviceCode)
	}
	return text
}

// HelpSMS answers HELP, and any text Huduma does not understand: every
// keyword in one SMS.
func HelpSMS(lang huduma.Language, serviceCode string) string { return helpSMS.F(lang, serviceCode) }

// Replies to the SMS keywords that need no argument.
var (
	BadInvoiceSMS = badInvoiceSMS
	NoInvoiceSMS  = noInvoiceSMS
	NoAppSMS      = noAppSMS
	StopSMS       = stopSMS
	StartSMS      = startSMS
)

// InvoiceStatusSMS answers STATUS <invoice> from to, the invoice's own
// phone; an unpaid invoice's answer says how to pay it from to's network.
func InvoiceStatusSMS(inv huduma.Invoice, lang huduma.Language, to huduma.MSISDN, how HowToPay) string {
	switch {
	case inv.Status == huduma.InvoicePaid && inv.Application != "":
		return statusPaidSMS.F(lang, inv.Number, inv.Total, inv.MpesaReceipt) + statusAppSMS.F(lang, inv.Application)
	case inv.Status == huduma.InvoicePaid:
		return statusPaidSMS.F(lang, inv.Number, inv.Total, inv.MpesaReceipt)
	case inv.Status == huduma.InvoiceExpired:
		return statusExpSMS.F(lang, inv.Number)
	case inv.Received > 0:
		// Part paid: the balance, whatever the last prompt did.
		return partial(inv, lang, how.For(to, inv, lang))
	case inv.Status == huduma.InvoiceFailed, inv.Status == huduma.InvoiceCancelled:
		return gsm7.Fold(statusUnpaid.F(lang, inv.Number, huduma.ResultText(inv.Reason, lang), how.For(to, inv, lang)))
	}
	return gsm7.Fold(statusPendSMS.F(lang, inv.Number, how.For(to, inv, lang)))
}
