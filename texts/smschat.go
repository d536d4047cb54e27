package texts

// The SMS channel's replies: finding a service, its details, an invoice
// and paying it by text (smschannel's inbox). Keywords in the texts are the
// reply's language's own (PAY / LIPA, INVOICE / ANKARA); the inbox reads
// both in either language. Amounts are plain whole shillings, as in the
// other SMS.
var (
	SMSFindAsk  = Text{"Which service? Send a word from its name, e.g. passport.", "Huduma gani? Tuma neno kutoka kwa jina lake, k.m. pasipoti."}
	SMSFindNone = Text{"No service matches '%s'. Send FIND and another word.", "Hakuna huduma inayolingana na '%s'. Tuma TAFUTA na neno jingine."}
	SMSFindHead = Text{"Results for '%s':", "Matokeo ya '%s':"}
	SMSFindLine = Text{"%d %s KES %d", "%d %s KES %d"}
	SMSFindFoot = Text{"Send INFO and a code for details.", "Tuma INFO na nambari kwa maelezo."}

	SMSCodeAsk = Text{"Which service? Send its code, e.g. 1001, or a word from its name.", "Huduma gani? Tuma nambari yake, k.m. 1001, au neno kutoka kwa jina lake."}
	SMSBadCode = Text{"A service code is digits, e.g. INFO 1001. Send FIND and a word to find one.",
		"Nambari ya huduma ni tarakimu, k.m. INFO 1001. Tuma TAFUTA na neno kuipata."}
	SMSNoCode   = Text{"No service has code %d. Send FIND and a word to find one.", "Hakuna huduma yenye nambari %d. Tuma TAFUTA na neno kuipata."}
	SMSInfo     = Text{"%s (code %d)\n%s\nFee KES %d + KES %d convenience fee = KES %d.", "%s (nambari %d)\n%s\nAda KES %d + ada ya huduma KES %d = KES %d."}
	SMSInfoNext = Text{"To pay send: INVOICE %d%s", "Kulipa tuma: ANKARA %d%s"}
	// SMSInfoNotPayable stands for SMSInfoNext, and SMSNotPayable answers
	// INVOICE, for a service that cannot be billed here yet (no e-Citizen
	// service ID in the catalog): how to pay it instead.
	SMSInfoNotPayable = Text{"Not payable by SMS yet: pay on ecitizen.go.ke or at the agency.", "Bado haulipwi kwa SMS: lipa kwenye ecitizen.go.ke au kwa idara."}
	SMSNotPayable     = Text{"%s (code %d) cannot be paid by SMS or USSD yet. Pay it on ecitizen.go.ke or at the agency.",
		"%s (nambari %d) bado haiwezi kulipwa kwa SMS wala USSD. Ilipe kwenye ecitizen.go.ke au kwa idara."}

	SMSAskInput = Text{"%s: send your %s.", "%s: tuma %s."}
	// SMSInvoice answers INVOICE from a phone a prompt can reach, and
	// SMSInvoiceSteps from any other: each ends with the steps of paying
	// by hand from the sender's network (HowToPay).
	SMSInvoice = Text{"Invoice %s: %s, KES %d. Send PAY %s for an M-Pesa prompt. %s",
		"Ankara %s: %s, KES %d. Tuma LIPA %s upate ombi la M-Pesa. %s"}
	SMSInvoiceSteps = Text{"Invoice %s: %s, KES %d. %s", "Ankara %s: %s, KES %d. %s"}

	SMSPayAsk  = Text{"Which invoice? Send its 10-digit number.", "Ankara gani? Tuma nambari yake ya tarakimu 10."}
	SMSPayBad  = Text{"That invoice number is not valid. Send PAY and the 10-digit invoice number.", "Nambari hiyo ya ankara si sahihi. Tuma LIPA na nambari ya ankara ya tarakimu 10."}
	SMSPaySent = Text{"Check your phone: an M-Pesa prompt for KES %d (invoice %s) is on its way. Enter your PIN to pay.",
		"Angalia simu yako: ombi la M-Pesa la KES %d (ankara %s) linakuja. Weka PIN yako kulipa."}
	// SMSPaySteps answers PAY from a phone no prompt can reach, with the
	// steps of paying by hand from its network.
	SMSPaySteps    = Text{"M-Pesa prompts reach Safaricom numbers only. %s", "Maombi ya M-Pesa hufika nambari za Safaricom tu. %s"}
	SMSPayInFlight = Text{"A prompt for invoice %s is already on its way. Check your phone, or send PAY again in 3 minutes.",
		"Ombi la ankara %s tayari linakuja. Angalia simu yako, au tuma LIPA tena baada ya dakika 3."}

	SMSLangSet = Text{"eCitizen will now write to you in English, by SMS and on %s.", "eCitizen itakuandikia kwa Kiswahili sasa, kwa SMS na kwenye %s."}
	SMSLangAsk = Text{"Send LANG EN for English or LANG SW for Kiswahili.", "Tuma LUGHA SW kwa Kiswahili au LUGHA EN kwa Kiingereza."}

	SMSSlowDown = Text{"Too many messages from this phone. Please wait a minute, then send again.",
		"Ujumbe mwingi mno kutoka simu hii. Tafadhali subiri dakika moja, kisha utume tena."}
)
