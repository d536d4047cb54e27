package texts

import (
	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// USSD screens: titles, menu items, prompts, refusals and END texts. A
// screen line says no more than a feature phone can show; layout (in
// menus) folds and fits it.
var (
	MainTitle    = Text{"eCitizen %s", "eCitizen %s"}
	FindService  = Text{"Find a service", "Tafuta huduma"}
	PayInvoice   = Text{"Pay an invoice", "Lipa ankara"}
	CheckStatus  = Text{"Check payment status", "Angalia hali ya malipo"}
	MyInvoices   = Text{"My invoices", "Ankara zangu"}
	TrackApp     = Text{"Track application", "Fuatilia ombi"}
	LanguageItem = Text{"Language/Lugha", "Language/Lugha"}

	FindTitle  = Text{"Find a service", "Tafuta huduma"}
	SearchName = Text{"Search by name", "Tafuta kwa jina"}
	Browse     = Text{"Browse by category", "Vinjari kwa kundi"}
	EnterCode  = Text{"Enter service code", "Weka nambari ya huduma"}

	SearchPrompt = Text{"Enter a service name, e.g. passport", "Andika jina la huduma, mfano pasipoti"}
	ResultsTitle = Text{"Results for '%s'", "Matokeo ya '%s'"}
	CatTitle     = Text{"Choose a category", "Chagua kundi"}
	CodePrompt   = Text{"Enter the service code printed on the form", "Weka nambari ya huduma iliyo kwenye fomu"}

	Fee       = Text{"Fee: KES %s", "Ada: KES %s"}
	Total     = Text{"Total: KES %s (incl. KES %s conv. fee)", "Jumla: KES %s (pamoja na ada ya KES %s)"}
	PayNow    = Text{"Pay now", "Lipa sasa"}
	SMSDetail = Text{"SMS me details", "Nitumie maelezo kwa SMS"}

	LangTitle = Text{"Choose language", "Chagua lugha"}
	English   = Text{"English", "English"}
	Swahili   = Text{"Kiswahili", "Kiswahili"}
	LangSet   = Text{"Language set to English.", "Lugha imewekwa Kiswahili."}

	More = Text{"More", "Zaidi"}
	Back = Text{"Back", "Rudi"}
	Home = Text{"Home", "Mwanzo"}

	InvalidChoice = Text{"Invalid choice. Try again.", "Chaguo si sahihi. Jaribu tena."}
	QueryShort    = Text{"Type at least 2 letters.", "Andika angalau herufi 2."}
	NoMatch       = Text{"No service matches that. Try another word.", "Hakuna huduma inayolingana. Jaribu neno jingine."}
	CodeDigits    = Text{"A service code is digits only.", "Nambari ya huduma ni tarakimu tu."}
	NoCode        = Text{"No service has code %d.", "Hakuna huduma yenye nambari %d."}
	NoMore        = Text{"There are no more items.", "Hakuna zaidi."}
	Busy          = Text{"Sorry, the service is busy. Please try again.", "Samahani, huduma ina shughuli nyingi. Tafadhali jaribu tena."}

	EnterField     = Text{"Enter %s", "Weka %s"}
	PayingPhone    = Text{"Paying phone: %s", "Simu ya kulipa: %s"}
	PayThisPhone   = Text{"Pay from this phone", "Lipa kwa simu hii"}
	PayOtherNumber = Text{"Pay from another number", "Lipa kwa nambari nyingine"}
	// GetInvoice and PayByHand stand for "Pay from this phone" on a phone
	// no M-Pesa prompt can reach: they end with its network's steps.
	GetInvoice = Text{"Get invoice and how to pay", "Pata ankara na jinsi ya kulipa"}
	PayByHand  = Text{"How to pay", "Jinsi ya kulipa"}
	// PayStepsDone is the END with the steps of paying an invoice by hand.
	PayStepsDone = Text{"Invoice %s\n%s", "Ankara %s\n%s"}
	// NotPayableHere is the service screen's line for a service that
	// cannot be billed here yet (no e-Citizen service ID in the catalog).
	NotPayableHere = Text{"Not payable here yet: pay on ecitizen.go.ke or at the agency.", "Bado hailipwi hapa: lipa kwenye ecitizen.go.ke au kwa idara."}
	OtherPrompt    = Text{"Enter the M-Pesa number to pay from", "Weka nambari ya M-Pesa ya kulipa"}
	BadPhone       = Text{"That is not a valid Kenyan mobile number.", "Hiyo si nambari sahihi ya simu ya Kenya."}
	NotSafaricom   = Text{"M-Pesa prompts go only to Safaricom numbers.", "Ombi la M-Pesa huenda kwa nambari za Safaricom tu."}
	DonePrompt     = Text{"Invoice %s\nTotal KES %s\nCheck your phone for the M-Pesa prompt and enter your PIN.", "Ankara %s\nJumla KES %s\nAngalia simu yako kwa ombi la M-Pesa na uweke PIN yako."}
	DonePush       = Text{"Check your phone for the M-Pesa prompt to pay KES %s for invoice %s.", "Angalia simu yako kwa ombi la M-Pesa la kulipa KES %s kwa ankara %s."}
	DoneDetails    = Text{"We have sent the service details to you by SMS.", "Tumekutumia maelezo ya huduma kwa SMS."}
	DoneReceipt    = Text{"We have sent the receipt to you by SMS.", "Tumekutumia risiti kwa SMS."}
	InvoicePrompt  = Text{"Enter the invoice number", "Weka nambari ya ankara"}
	BadInvoice     = Text{"That invoice number is not valid.", "Nambari hiyo ya ankara si sahihi."}
	NoInvoice      = Text{"No invoice has that number.", "Hakuna ankara yenye nambari hiyo."}
	InvoiceTitle   = Text{"Invoice %s", "Ankara %s"}
	Amount         = Text{"KES %s", "KES %s"}
	StatusPaid     = Text{"PAID %s, M-Pesa %s", "IMELIPWA %s, M-Pesa %s"}
	StatusPending  = Text{"PENDING", "INASUBIRI"}
	StatusFailed   = Text{"FAILED: %s", "IMESHINDIKANA: %s"}
	StatusCanc     = Text{"CANCELLED: %s", "IMEGHAIRIWA: %s"}
	StatusExpired  = Text{"EXPIRED", "IMEISHA MUDA"}
	ResendPrompt   = Text{"Resend the M-Pesa prompt", "Tuma tena ombi la M-Pesa"}
	SMSReceipt     = Text{"SMS me the receipt", "Nitumie risiti kwa SMS"}
	InFlight       = Text{"A prompt is already on its way. Check your phone.", "Ombi tayari limetumwa. Angalia simu yako."}
	AlreadyPaid    = Text{"This invoice is already paid.", "Ankara hii imeshalipwa."}
	MyTitle        = Text{"My invoices", "Ankara zangu"}
	NoInvoices     = Text{"You have no invoices yet.", "Huna ankara bado."}
	StatusWord     = map[huduma.InvoiceStatus]Text{
		huduma.InvoicePaid: {"PAID", "IMELIPWA"}, huduma.InvoicePending: {"PENDING", "INASUBIRI"},
		huduma.InvoiceFailed: {"FAILED", "IMESHINDIKANA"}, huduma.InvoiceCancelled: {"CANCELLED", "IMEGHAIRIWA"},
		huduma.InvoiceExpired: {"EXPIRED", "IMEISHA MUDA"},
	}

	TrackPrompt = Text{"Enter the application number, or the invoice number you paid", "Weka nambari ya ombi, au ya ankara uliyolipa"}
	NoApp       = Text{"No application has that number.", "Hakuna ombi lenye nambari hiyo."}
	AppTitle    = Text{"Application %s", "Ombi %s"}
	AppStatus   = Text{"%s since %s", "%s tangu %s"}

	ResumeLead  = Text{"You did not finish last time.", "Hukumaliza mara ya mwisho."}
	Continue    = Text{"Continue where you left off", "Endelea ulipoachia"}
	StartAgain  = Text{"Start again", "Anza upya"}
	ChooseOneTw = Text{"Please choose 1 or 2.", "Tafadhali chagua 1 au 2."}

	Late     = Text{"This is taking longer than usual. We will send the answer to you by SMS shortly.", "Hii inachukua muda zaidi. Tutakutumia jibu kwa SMS hivi punde."}
	LateMore = Text{"Dial %s to continue.", "Piga %s kuendelea."}

	SlowDown = Text{"Too many requests from this phone. Please wait a minute and dial again.",
		"Maombi mengi mno kutoka simu hii. Tafadhali subiri dakika moja kisha upige tena."}
)

var (
	doneSteps    = Text{"Invoice %s\nTotal KES %s\n%s", "Ankara %s\nJumla KES %s\n%s"}
	doneStepsSMS = Text{"\nWe sent the invoice by SMS.", "\nTumekutumia ankara kwa SMS."}
)

// DoneSteps is the END of an order no prompt was sent for: the invoice,
// its total and steps (how to pay it by hand from the payer's network),
// and, where the screen has room, that the invoice went by SMS too.
func DoneSteps(inv huduma.Invoice, steps string, lang huduma.Language) string {
	s := gsm7.Fold(doneSteps.F(lang, inv.Number, Money(inv.Total), steps))
	// A bill shown on the screen is not texted again (ecitizen).
	if note := doneStepsSMS.T(lang); inv.Bill == "" && len(s)+len(note) <= huduma.MaxScreen {
		s += note
	}
	return s
}
