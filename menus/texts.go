package menus

import (
	"fmt"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// text is one user-facing string in both languages. Every screen line comes
// from this table, so a test can render each one in each language.
type text struct{ en, sw string }

// T returns the string for lang (English when no Kiswahili is given).
func (t text) T(lang huduma.Language) string {
	if lang == huduma.Kiswahili && t.sw != "" {
		return t.sw
	}
	return t.en
}

// F formats the string for lang with args.
func (t text) F(lang huduma.Language, args ...any) string { return fmt.Sprintf(t.T(lang), args...) }

var (
	tMainTitle    = text{"eCitizen %s", "eCitizen %s"}
	tFindService  = text{"Find a service", "Tafuta huduma"}
	tPayInvoice   = text{"Pay an invoice", "Lipa ankara"}
	tCheckStatus  = text{"Check payment status", "Angalia hali ya malipo"}
	tMyInvoices   = text{"My invoices", "Ankara zangu"}
	tTrackApp     = text{"Track application", "Fuatilia ombi"}
	tLanguageItem = text{"Language/Lugha", "Language/Lugha"}

	tFindTitle  = text{"Find a service", "Tafuta huduma"}
	tSearchName = text{"Search by name", "Tafuta kwa jina"}
	tBrowse     = text{"Browse by category", "Vinjari kwa kundi"}
	tEnterCode  = text{"Enter service code", "Weka nambari ya huduma"}

	tSearchPrompt = text{"Enter a service name, e.g. passport", "Andika jina la huduma, mfano pasipoti"}
	tResultsTitle = text{"Results for '%s'", "Matokeo ya '%s'"}
	tCatTitle     = text{"Choose a category", "Chagua kundi"}
	tCodePrompt   = text{"Enter the service code printed on the form", "Weka nambari ya huduma iliyo kwenye fomu"}

	tFee       = text{"Fee: KES %s", "Ada: KES %s"}
	tTotal     = text{"Total: KES %s (incl. KES %s conv. fee)", "Jumla: KES %s (pamoja na ada ya KES %s)"}
	tPayNow    = text{"Pay now", "Lipa sasa"}
	tSMSDetail = text{"SMS me details", "Nitumie maelezo kwa SMS"}

	tLangTitle = text{"Choose language", "Chagua lugha"}
	tEnglish   = text{"English", "English"}
	tSwahili   = text{"Kiswahili", "Kiswahili"}
	tLangSet   = text{"Language set to English.", "Lugha imewekwa Kiswahili."}

	tMore = text{"More", "Zaidi"}
	tBack = text{"Back", "Rudi"}
	tHome = text{"Home", "Mwanzo"}

	tInvalidChoice = text{"Invalid choice. Try again.", "Chaguo si sahihi. Jaribu tena."}
	tQueryShort    = text{"Type at least 2 letters.", "Andika angalau herufi 2."}
	tNoMatch       = text{"No service matches that. Try another word.", "Hakuna huduma inayolingana. Jaribu neno jingine."}
	tCodeDigits    = text{"A service code is digits only.", "Nambari ya huduma ni tarakimu tu."}
	tNoCode        = text{"No service has code %d.", "Hakuna huduma yenye nambari %d."}
	tNoMore        = text{"There are no more items.", "Hakuna zaidi."}
	tBusy          = text{"Sorry, the service is busy. Please try again.", "Samahani, huduma ina shughuli nyingi. Tafadhali jaribu tena."}
)

// BusyText is the END screen shown when a backend fails mid-hop.
func BusyText(lang huduma.Language) string { return tBusy.T(lang) }

// SlowDownText is the END screen for a phone over its hop rate.
func SlowDownText(lang huduma.Language) string { return tSlowDown.T(lang) }

var tSlowDown = text{"Too many requests from this phone. Please wait a minute and dial again.",
	"Maombi mengi mno kutoka simu hii. Tafadhali subiri dakika moja kisha upige tena."}

var (
	tEnterField     = text{"Enter %s", "Weka %s"}
	tConfirmTitle   = text{"%s", "%s"}
	tPayingPhone    = text{"Paying phone: %s", "Simu ya kulipa: %s"}
	tPayThisPhone   = text{"Pay from this phone", "Lipa kwa simu hii"}
	tPayOtherNumber = text{"Pay from another number", "Lipa kwa nambari nyingine"}
	tOtherPrompt    = text{"Enter the M-Pesa number to pay from", "Weka nambari ya M-Pesa ya kulipa"}
	tBadPhone       = text{"That is not a valid Kenyan mobile number.", "Hiyo si nambari sahihi ya simu ya Kenya."}
	tNotSafaricom   = text{"M-Pesa prompts go only to Safaricom numbers.", "Ombi la M-Pesa huenda kwa nambari za Safaricom tu."}
	tDonePrompt     = text{"Invoice %s\nTotal KES %s\nCheck your phone for the M-Pesa prompt and enter your PIN.", "Ankara %s\nJumla KES %s\nAngalia simu yako kwa ombi la M-Pesa na uweke PIN yako."}
	tDonePaybill    = text{"Invoice %s\nTotal KES %s\nPay by M-Pesa Paybill %s, Account %s. We sent the details by SMS.", "Ankara %s\nJumla KES %s\nLipa kwa M-Pesa Paybill %s, Akaunti %s. Tumetuma maelezo kwa SMS."}
	tDonePush       = text{"Check your phone for the M-Pesa prompt to pay KES %s for invoice %s.", "Angalia simu yako kwa ombi la M-Pesa la kulipa KES %s kwa ankara %s."}
	tDoneDetails    = text{"We have sent the service details to you by SMS.", "Tumekutumia maelezo ya huduma kwa SMS."}
	tDoneReceipt    = text{"We have sent the receipt to you by SMS.", "Tumekutumia risiti kwa SMS."}
	tInvoicePrompt  = text{"Enter the invoice number", "Weka nambari ya ankara"}
	tBadInvoice     = text{"That invoice number is not valid.", "Nambari hiyo ya ankara si sahihi."}
	tNoInvoice      = text{"No invoice has that number.", "Hakuna ankara yenye nambari hiyo."}
	tInvoiceTitle   = text{"Invoice %s", "Ankara %s"}
	tAmount         = text{"KES %s", "KES %s"}
	tStatusPaid     = text{"PAID %s, M-Pesa %s", "IMELIPWA %s, M-Pesa %s"}
	tStatusPending  = text{"PENDING", "INASUBIRI"}
	tStatusFailed   = text{"FAILED: %s", "IMESHINDIKANA: %s"}
	tStatusCanc     = text{"CANCELLED: %s", "IMEGHAIRIWA: %s"}
	tStatusExpired  = text{"EXPIRED", "IMEISHA MUDA"}
	tResendPrompt   = text{"Resend the M-Pesa prompt", "Tuma tena ombi la M-Pesa"}
	tSMSReceipt     = text{"SMS me the receipt", "Nitumie risiti kwa SMS"}
	tInFlight       = text{"A prompt is already on its way. Check your phone.", "Ombi tayari limetumwa. Angalia simu yako."}
	tAlreadyPaid    = text{"This invoice is already paid.", "Ankara hii imeshalipwa."}
	tMyTitle        = text{"My invoices", "Ankara zangu"}
	tNoInvoices     = text{"You have no invoices yet.", "Huna ankara bado."}
	tNoInputValue   = text{"%s is not valid. Try again.", "%s si sahihi. Jaribu tena."}
	tStatusWord     = map[huduma.InvoiceStatus]text{
		huduma.InvoicePaid: {"PAID", "IMELIPWA"}, huduma.InvoicePending: {"PENDING", "INASUBIRI"},
		huduma.InvoiceFailed: {"FAILED", "IMESHINDIKANA"}, huduma.InvoiceCancelled: {"CANCELLED", "IMEGHAIRIWA"},
		huduma.InvoiceExpired: {"EXPIRED", "IMEISHA MUDA"},
	}
)

var (
	tTrackPrompt = text{"Enter the application number", "Weka nambari ya ombi"}
	tNoApp       = text{"No application has that number.", "Hakuna ombi lenye nambari hiyo."}
	tAppTitle    = text{"Application %s", "Ombi %s"}
	tAppStatus   = text{"%s since %s", "%s tangu %s"}
)

var (
	tResumeLead  = text{"You did not finish last time.", "Hukumaliza mara ya mwisho."}
	tContinue    = text{"Continue where you left off", "Endelea ulipoachia"}
	tStartAgain  = text{"Start again", "Anza upya"}
	tChooseOneTw = text{"Please choose 1 or 2.", "Tafadhali chagua 1 au 2."}
)

// ResumeText is the first screen when the caller left a journey unfinished
// moments ago; bad names the refused input, if any.
func ResumeText(lang huduma.Language, code, bad string) string {
	p := page{header: []string{tMainTitle.F(lang, code), tResumeLead.T(lang)},
		options: []option{{"1", tContinue.T(lang)}, {"2", tStartAgain.T(lang)}}}
	if bad != "" {
		p.reason = tChooseOneTw.T(lang)
	}
	return layout(p, lang).text
}

// Resumable reports whether a session that stopped in state is worth
// offering to continue: anywhere but the main menu and the end.
func Resumable(state string) bool {
	return state != "" && state != StateMain && state != StateDone
}

var (
	tLate     = text{"This is taking longer than usual. We will send the answer to you by SMS shortly.", "Hii inachukua muda zaidi. Tutakutumia jibu kwa SMS hivi punde."}
	tLateMore = text{"Dial %s to continue.", "Piga %s kuendelea."}
)

// LateText is the END screen for a hop whose work outlived its deadline.
func LateText(lang huduma.Language) string { return tLate.T(lang) }

// LateSMS is the text of a late hop's screen sent by SMS: the screen, and
// for a menu (not an END) how to carry on.
func LateSMS(lang huduma.Language, code string, reply huduma.Reply) string {
	text := gsm7.Fold(reply.Text)
	if !reply.End {
		text += "\n" + tLateMore.F(lang, code)
	}
	return text
}
