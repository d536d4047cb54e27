package menus

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// Paying for a service, paying, checking and listing invoices, and
// tracking applications: the states that read the ledger.

var eat = time.FixedZone("EAT", 3*3600)

func handleInput(st *step, in string) (outcome, error) {
	s := st.s
	sv, err := st.serviceByCode(s.Service)
	if err != nil {
		return outcome{}, fmt.Errorf("load service: %w", err)
	}
	if in == "0" {
		if s.Field > 0 {
			s.Field--
			return outcome{event: EventPrevInput}, nil
		}
		return outcome{event: EventBack}, nil
	}
	if s.Field >= len(sv.Inputs) {
		return outcome{event: EventInputsDone}, nil
	}
	decl := sv.Inputs[s.Field]
	v, err := decl.Normalize(in, st.m.cfg.Now())
	if err != nil {
		return invalid(texts.InputRefused(huduma.InputProblemOf(err), decl.Label(s.Lang), s.Lang)), nil
	}
	if s.Values == nil {
		s.Values = map[string]string{}
	}
	s.Values[decl.Key] = v
	s.Field++
	if s.Field == len(sv.Inputs) {
		return outcome{event: EventInputsDone}, nil
	}
	return outcome{event: EventNextInput}, nil
}

func inputPage(st *step) (page, []string, error) {
	sv, err := st.serviceByCode(st.s.Service)
	if err != nil {
		return page{}, nil, fmt.Errorf("load service: %w", err)
	}
	if st.s.Field >= len(sv.Inputs) {
		return page{}, nil, fmt.Errorf("service %d has no input %d", sv.Code, st.s.Field)
	}
	label := sv.Inputs[st.s.Field].Label(st.lang())
	return page{header: []string{sv.Name(st.lang()), texts.EnterField.F(st.lang(), label)}, nav: true}, nil, nil
}

func handleConfirm(st *step, in string) (outcome, error) {
	switch in {
	case "0":
		if st.s.Field > 0 {
			st.s.Field--
			return outcome{event: EventBackInputs}, nil
		}
		return outcome{event: EventBackService}, nil
	case "1":
		return order(st, st.env.Phone)
	case "2":
		st.s.PayFor = StateConfirm
		return outcome{event: EventPayOther}, nil
	}
	return invalid(texts.InvalidChoice.T(st.lang())), nil
}

func confirmPage(st *step) (page, []string, error) {
	lang := st.lang()
	sv, err := st.serviceByCode(st.s.Service)
	if err != nil {
		return page{}, nil, fmt.Errorf("load service: %w", err)
	}
	bands, err := st.m.cat.FeeBands(st.ctx)
	if err != nil {
		return page{}, nil, fmt.Errorf("load fee bands: %w", err)
	}
	total := sv.Fee + huduma.ConvenienceFee(bands, sv.Fee)
	// A phone no prompt can reach is not offered one: it gets the invoice
	// and its network's steps.
	this := texts.PayThisPhone
	if !st.env.Phone.CanPrompt() {
		this = texts.GetInvoice
	}
	return page{
		header:  []string{sv.Name(lang), texts.Total.F(lang, money(total), money(total-sv.Fee)), texts.PayingPhone.F(lang, localPhone(st.env.Phone))},
		options: []option{{"1", this.T(lang)}, {"2", texts.PayOtherNumber.T(lang)}},
		nav:     true,
	}, nil, nil
}

// order creates the invoice and ends the session with its number. The
// END shows the number, so the invoice is made now, under the hop's key:
// a racing or retried hop gets the same invoice. A payer no prompt can
// reach gets the steps of paying by hand from its network instead.
func order(st *step, payer huduma.MSISDN) (outcome, error) {
	s := st.s
	sv, err := st.serviceByCode(s.Service)
	if err != nil {
		return outcome{}, fmt.Errorf("load service: %w", err)
	}
	if !st.payable(sv) {
		// The catalog changed since the service screen was shown.
		return invalid(texts.NotPayableHere.T(s.Lang)), nil
	}
	inv, prompted, err := st.m.pay.CreateInvoice(st.ctx, huduma.InvoiceRequest{ServiceCode: s.Service, Phone: st.env.Phone, Payer: payer,
		Fields: s.Values, Lang: s.Lang, Push: true, Key: st.env.Key + ":invoice"})
	switch huduma.ErrorCode(err) {
	case huduma.EInvalid:
		return invalid(huduma.ErrorMessage(err)), nil
	case huduma.ERateLimited:
		// The other number has had its fill of strangers' prompts; no
		// invoice was made, so another number (or later) can still do.
		return invalid(texts.PromptCapped.T(s.Lang)), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("create invoice: %w", err)
	}
	switch {
	case prompted && inv.Bill != "":
		s.Done = texts.DoneBillPrompt.F(s.Lang, inv.Number, inv.Bill, money(inv.Total))
	case prompted:
		s.Done = texts.DonePrompt.F(s.Lang, inv.Number, money(inv.Total))
	case st.m.cfg.NeedServiceID && inv.Bill == "":
		// On e-Citizen the account is the bill number, which had not come
		// within the hop: the text that carries it follows.
		s.Done = texts.DoneBillBySMS.F(s.Lang, inv.Number, money(inv.Total))
	default:
		s.Done = texts.DoneSteps(inv, st.how().For(payer, inv, s.Lang), s.Lang)
	}
	return outcome{event: EventFinish}, nil
}

// payByHand ends the session with the steps of paying invoice number by
// hand from payer's network: for a phone no prompt can reach.
func payByHand(st *step, number huduma.InvoiceNumber, payer huduma.MSISDN) (outcome, error) {
	inv, err := st.loadInvoice(number)
	if err != nil {
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	if !inv.Payable() {
		// Paid or expired since its screen was drawn.
		return invalid(texts.StatusWord[inv.Status].T(st.lang())), nil
	}
	st.s.Done = texts.PayStepsDone.F(st.lang(), inv.Number, st.how().For(payer, inv, st.lang()))
	return outcome{event: EventFinish}, nil
}

func handleOtherPhone(st *step, in string) (outcome, error) {
	if in == "0" {
		if st.s.PayFor == StateInvoice {
			return outcome{event: EventBackInvoice}, nil
		}
		return outcome{event: EventBackConfirm}, nil
	}
	payer, err := huduma.ParseMSISDN(in)
	if err != nil {
		return invalid(texts.BadPhone.T(st.lang())), nil
	}
	if st.s.PayFor == StateInvoice {
		if !payer.CanPrompt() {
			return payByHand(st, huduma.InvoiceNumber(st.s.Invoice), payer)
		}
		return push(st, payer)
	}
	return order(st, payer)
}

func otherPhonePage(st *step) (page, []string, error) {
	return page{header: []string{texts.OtherPrompt.T(st.lang())}, nav: true}, nil, nil
}

// push asks for a prompt on an existing invoice. Whether one was queued
// decides the screen, so it is queued now, under the hop's key. A prompt
// to this phone is its own request; one to another number is a
// stranger's, which that number may have had enough of this hour.
func push(st *step, payer huduma.MSISDN) (outcome, error) {
	number := huduma.InvoiceNumber(st.s.Invoice)
	request := st.m.pay.RequestPush
	if payer == st.env.Phone {
		request = st.m.pay.RequestPushByPayer
	}
	err := request(st.ctx, number, payer, st.env.Key+":push")
	switch huduma.ErrorCode(err) {
	case "":
	case huduma.EInvalid:
		return invalid(texts.NotSafaricom.T(st.lang())), nil
	case huduma.ERateLimited:
		return invalid(texts.PromptCapped.T(st.lang())), nil
	case huduma.EForbidden:
		return invalid(texts.OwnPhoneOnly.T(st.lang())), nil
	case huduma.EConflict:
		st.invoice = nil // it may have been paid meanwhile
		inv, ierr := st.loadInvoice(number)
		if ierr == nil && inv.Status == huduma.InvoicePaid {
			return invalid(texts.AlreadyPaid.T(st.lang())), nil
		}
		return invalid(texts.InFlight.T(st.lang())), nil
	default:
		return outcome{}, fmt.Errorf("request prompt: %w", err)
	}
	inv, err := st.loadInvoice(number)
	if err != nil {
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	st.s.Done = texts.DonePush.F(st.lang(), money(inv.Due()), inv.Number)
	return outcome{event: EventFinish}, nil
}

func handleInvoiceNumber(st *step, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	number, err := huduma.ParseInvoiceNumber(in)
	if err != nil {
		return invalid(texts.BadInvoice.T(st.lang())), nil
	}
	if _, err := st.loadInvoice(number); err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(texts.NoInvoice.T(st.lang())), nil
		}
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	st.s.Invoice, st.s.From = string(number), StateInvoiceNumber
	return outcome{event: EventOpenInvoice}, nil
}

func invoiceNumberPage(st *step) (page, []string, error) {
	return page{header: []string{texts.InvoicePrompt.T(st.lang())}, nav: true}, nil, nil
}

func handleInvoice(st *step, in string) (outcome, error) {
	s := st.s
	if in == "0" {
		if s.From == StateMyInvoices {
			return outcome{event: EventBackList}, nil
		}
		return outcome{event: EventBackNumber}, nil
	}
	inv, err := st.loadInvoice(huduma.InvoiceNumber(s.Invoice))
	if err != nil {
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	switch {
	case inv.Status == huduma.InvoicePaid && in == "1" && inv.Phone == st.env.Phone:
		// A copy of the receipt goes only to the invoice's own phone.
		st.intend(Intent{Kind: IntentReceipt, Invoice: inv.Number})
		s.Done = texts.DoneReceipt.T(s.Lang)
		return outcome{event: EventFinish}, nil
	case inv.Payable() && in == "1" && !st.env.Phone.CanPrompt():
		return payByHand(st, inv.Number, st.env.Phone)
	case inv.Payable() && in == "1":
		return push(st, st.env.Phone)
	case inv.Payable() && in == "2":
		s.PayFor = StateInvoice
		return outcome{event: EventPayOther}, nil
	}
	return invalid(texts.InvalidChoice.T(s.Lang)), nil
}

func invoicePage(st *step) (page, []string, error) {
	inv, err := st.loadInvoice(huduma.InvoiceNumber(st.s.Invoice))
	if err != nil {
		return page{}, nil, fmt.Errorf("load invoice: %w", err)
	}
	lang := st.lang()
	// Anyone may look up an invoice by its number, to pay it; another
	// phone's invoice shows only what is public: its service, amount,
	// status and balance, never the M-Pesa receipt, the payer's outcome
	// (a wrong PIN, an empty account) or the offer of a receipt.
	own := inv.Phone == st.env.Phone
	status := texts.StatusWord[inv.Status].T(lang)
	if own {
		status = ownStatus(inv, lang)
	}
	p := page{header: []string{texts.InvoiceTitle.F(lang, inv.Number), st.serviceName(inv.ServiceCode, inv.ServiceName), texts.Amount.F(lang, money(inv.Total)), status}, nav: true}
	if inv.Received > 0 && inv.Due() > 0 {
		p.header = append(p.header, texts.Balance(inv, lang)) // payments accumulate
	}
	if inv.Status == huduma.InvoicePaid && inv.Application != "" && own {
		p.header = append(p.header, texts.AppTitle.F(lang, inv.Application)) // what to track
	}
	switch {
	case inv.Status == huduma.InvoicePaid && own:
		p.options = []option{{"1", texts.SMSReceipt.T(lang)}}
	case inv.Payable() && !st.env.Phone.CanPrompt():
		// No prompt reaches this phone: its network's steps, or a prompt
		// to another number.
		p.options = []option{{"1", texts.PayByHand.T(lang)}, {"2", texts.PayOtherNumber.T(lang)}}
	case inv.Status == huduma.InvoicePending && own:
		p.options = []option{{"1", texts.ResendPrompt.T(lang)}, {"2", texts.PayOtherNumber.T(lang)}}
	case inv.Payable():
		p.options = []option{{"1", texts.PayThisPhone.T(lang)}, {"2", texts.PayOtherNumber.T(lang)}}
	}
	return p, nil, nil
}

// ownStatus is the status line the invoice's own phone sees: the M-Pesa
// receipt and date of a paid invoice, the reason of a failed one.
func ownStatus(inv huduma.Invoice, lang huduma.Language) string {
	var status string
	switch inv.Status {
	case huduma.InvoicePaid:
		when := ""
		if inv.PaidAt != nil {
			when = inv.PaidAt.In(eat).Format("02/01/2006")
		}
		status = texts.StatusPaid.F(lang, when, inv.MpesaReceipt)
	case huduma.InvoiceFailed:
		status = texts.StatusFailed.F(lang, huduma.ResultText(inv.Reason, lang))
	case huduma.InvoiceCancelled:
		status = texts.StatusCanc.F(lang, huduma.ResultText(inv.Reason, lang))
	case huduma.InvoiceExpired:
		status = texts.StatusExpired.T(lang)
	default:
		status = texts.StatusPending.T(lang)
	}
	return status
}

// handleMyInvoices is handleList over the phone's invoices.
func handleMyInvoices(st *step, in string) (outcome, error) {
	o, err := handleList(st, in)
	if err == nil && o.event == EventOpenService { // handleList's pick: reinterpret as an invoice
		st.s.Invoice, st.s.From = st.picked, StateMyInvoices
		return outcome{event: EventOpenInvoice}, nil
	}
	return o, err
}

func myInvoicesPage(st *step) (page, []string, error) {
	invs, err := st.m.pay.InvoicesByPhone(st.ctx, st.env.Phone, st.s.Offset, pageSize+1)
	if err != nil {
		return page{}, nil, fmt.Errorf("list invoices: %w", err)
	}
	lang := st.lang()
	p := page{header: []string{texts.MyTitle.T(lang)}, nav: true, moreBeyond: len(invs) > pageSize}
	if len(invs) == 0 && st.s.Offset == 0 {
		p.header = append(p.header, texts.NoInvoices.T(lang))
		return p, nil, nil
	}
	var keys []string
	for _, inv := range invs[:min(len(invs), pageSize)] {
		// The service's name says which invoice is which at a glance; it
		// takes what room the number and status leave in an item. The
		// amount is on the invoice's own screen, a key away.
		line := fmt.Sprintf("%s %s", inv.Number, texts.StatusWord[inv.Status].T(lang))
		if name := clipName(st.serviceName(inv.ServiceCode, inv.ServiceName), maxItem-utf8.RuneCountInString(line)-2); name != "" {
			line = name + ", " + line
		}
		p.items = append(p.items, line)
		keys = append(keys, string(inv.Number))
	}
	return p, keys, nil
}

// clipName is a service's name cut to at most n characters, marked
// "..." where cut; a name that would keep fewer than 6 is left out.
func clipName(name string, n int) string {
	r := []rune(strings.TrimSpace(name))
	switch {
	case len(r) <= n:
		return string(r)
	case n < 9:
		return ""
	}
	return strings.TrimRight(string(r[:n-3]), " ") + "..."
}

func handleTrack(st *step, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	if len(in) > 20 {
		return invalid(texts.NoApp.T(st.lang())), nil
	}
	a, err := st.loadApplication(in)
	if err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(texts.NoApp.T(st.lang())), nil
		}
		return outcome{}, fmt.Errorf("load application: %w", err)
	}
	st.s.Invoice = a.Number // an invoice number typed finds its application
	return outcome{event: EventOpenApp}, nil
}

func trackPage(st *step) (page, []string, error) {
	return page{header: []string{texts.TrackPrompt.T(st.lang())}, nav: true}, nil, nil
}

func handleApplication(st *step, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	return invalid(texts.InvalidChoice.T(st.lang())), nil
}

func applicationPage(st *step) (page, []string, error) {
	a, err := st.loadApplication(st.s.Invoice)
	if err != nil {
		return page{}, nil, fmt.Errorf("load application: %w", err)
	}
	lang := st.lang()
	lines := []string{texts.AppTitle.F(lang, a.Number), st.serviceName(a.ServiceCode, a.ServiceName),
		texts.AppStatus.F(lang, a.Status.Word(lang), a.UpdatedAt.In(eat).Format("02/01/2006"))}
	if a.Note != "" {
		lines = append(lines, a.Note)
	}
	return page{header: lines, nav: true}, nil, nil
}

// localPhone writes a number the way Kenyans read it: 0712 345678.
func localPhone(p huduma.MSISDN) string {
	d := p.Digits()
	if len(d) == 12 && strings.HasPrefix(d, "254") {
		return "0" + d[3:6] + " " + d[6:]
	}
	return string(p)
}
