package menus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// Payments is what the invoice and payment screens need.
type Payments interface {
	CreateInvoice(ctx context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error)
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	RequestPush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN) error
	InvoicesByPhone(ctx context.Context, phone huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error)
	ResendReceipt(ctx context.Context, number huduma.InvoiceNumber, phone huduma.MSISDN) error
	SendServiceDetails(ctx context.Context, phone huduma.MSISDN, code int, lang huduma.Language) error
	Application(ctx context.Context, number string) (huduma.Application, error)
}

func (m *Machine) handleTrack(ctx context.Context, s *Session, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	if len(in) > 20 {
		return invalid(tNoApp.T(s.Lang)), nil
	}
	if _, err := m.pay.Application(ctx, in); err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(tNoApp.T(s.Lang)), nil
		}
		return outcome{}, fmt.Errorf("load application: %w", err)
	}
	s.Invoice = in
	return outcome{event: EventOpenApp}, nil
}

func (m *Machine) applicationPage(ctx context.Context, s *Session) (page, error) {
	a, err := m.pay.Application(ctx, s.Invoice)
	if err != nil {
		return page{}, fmt.Errorf("load application: %w", err)
	}
	lines := []string{tAppTitle.F(s.Lang, a.Number), a.ServiceName,
		tAppStatus.F(s.Lang, a.Status.Word(s.Lang), a.UpdatedAt.In(eat).Format("02/01/2006"))}
	if a.Note != "" {
		lines = append(lines, a.Note)
	}
	return page{header: lines, nav: true}, nil
}

// payable reports whether an invoice can still take a payment.
func payable(inv huduma.Invoice) bool {
	return inv.Status != huduma.InvoicePaid && inv.Status != huduma.InvoiceExpired
}

func (m *Machine) handleService(ctx context.Context, s *Session, env Env, in string) (outcome, error) {
	switch {
	case in == "0":
		switch s.From {
		case StateSearchResults:
			return outcome{event: EventBackResults}, nil
		case StateCategoryServices:
			return outcome{event: EventBackCategory}, nil
		}
		return outcome{event: EventBackCode}, nil
	case in == "1" && m.pay != nil:
		sv, err := m.cat.ServiceByCode(ctx, s.Service)
		if err != nil {
			return outcome{}, fmt.Errorf("load service: %w", err)
		}
		s.Field, s.Values, s.Payer = 0, nil, ""
		if len(sv.Inputs) > 0 {
			return outcome{event: EventPayNow}, nil
		}
		return outcome{event: EventPayDirect}, nil
	case in == "2" && m.pay != nil:
		if err := m.pay.SendServiceDetails(ctx, env.Phone, s.Service, s.Lang); err != nil {
			return outcome{}, fmt.Errorf("sms service details: %w", err)
		}
		s.Done = tDoneDetails.T(s.Lang)
		return outcome{event: EventSMSDetails}, nil
	}
	return invalid(tInvalidChoice.T(s.Lang)), nil
}

func (m *Machine) handleInput(ctx context.Context, s *Session, in string) (outcome, error) {
	sv, err := m.cat.ServiceByCode(ctx, s.Service)
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
	v, err := decl.Normalize(in)
	if err != nil {
		return invalid(tNoInputValue.F(s.Lang, decl.Label(s.Lang))), nil
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

func (m *Machine) handleConfirm(ctx context.Context, s *Session, env Env, in string) (outcome, error) {
	switch in {
	case "0":
		if s.Field > 0 {
			s.Field--
			return outcome{event: EventBackInputs}, nil
		}
		return outcome{event: EventBackService}, nil
	case "1":
		return m.order(ctx, s, env, env.Phone)
	case "2":
		s.PayFor = StateConfirm
		return outcome{event: EventPayOther}, nil
	}
	return invalid(tInvalidChoice.T(s.Lang)), nil
}

// order creates the invoice and ends the session with its number.
func (m *Machine) order(ctx context.Context, s *Session, env Env, payer huduma.MSISDN) (outcome, error) {
	inv, prompted, err := m.pay.CreateInvoice(ctx, huduma.InvoiceRequest{ServiceCode: s.Service, Phone: env.Phone, Payer: payer,
		Fields: s.Values, Lang: s.Lang, Push: true, Key: "ussd:" + env.SessionID})
	if huduma.ErrorCode(err) == huduma.EInvalid {
		return invalid(huduma.ErrorMessage(err)), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("create invoice: %w", err)
	}
	if prompted {
		s.Done = tDonePrompt.F(s.Lang, inv.Number, money(inv.Total))
	} else {
		s.Done = tDonePaybill.F(s.Lang, inv.Number, money(inv.Total), m.cfg.Paybill, inv.Number)
	}
	return outcome{event: EventFinish}, nil
}

func (m *Machine) handleOtherPhone(ctx context.Context, s *Session, env Env, in string) (outcome, error) {
	if in == "0" {
		if s.PayFor == StateInvoice {
			return outcome{event: EventBackInvoice}, nil
		}
		return outcome{event: EventBackConfirm}, nil
	}
	payer, err := huduma.ParseMSISDN(in)
	if err != nil {
		return invalid(tBadPhone.T(s.Lang)), nil
	}
	if s.PayFor == StateInvoice {
		return m.push(ctx, s, payer)
	}
	return m.order(ctx, s, env, payer)
}

// push asks for a prompt on an existing invoice.
func (m *Machine) push(ctx context.Context, s *Session, payer huduma.MSISDN) (outcome, error) {
	number := huduma.InvoiceNumber(s.Invoice)
	err := m.pay.RequestPush(ctx, number, payer)
	switch huduma.ErrorCode(err) {
	case "":
	case huduma.EInvalid:
		return invalid(tNotSafaricom.T(s.Lang)), nil
	case huduma.EConflict:
		inv, ierr := m.pay.Invoice(ctx, number)
		if ierr == nil && inv.Status == huduma.InvoicePaid {
			return invalid(tAlreadyPaid.T(s.Lang)), nil
		}
		return invalid(tInFlight.T(s.Lang)), nil
	default:
		return outcome{}, fmt.Errorf("request prompt: %w", err)
	}
	inv, err := m.pay.Invoice(ctx, number)
	if err != nil {
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	s.Done = tDonePush.F(s.Lang, money(inv.Total), inv.Number)
	return outcome{event: EventFinish}, nil
}

func (m *Machine) handleInvoiceNumber(ctx context.Context, s *Session, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	number, err := huduma.ParseInvoiceNumber(in)
	if err != nil {
		return invalid(tBadInvoice.T(s.Lang)), nil
	}
	if _, err := m.pay.Invoice(ctx, number); err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(tNoInvoice.T(s.Lang)), nil
		}
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	s.Invoice, s.From = string(number), StateInvoiceNumber
	return outcome{event: EventOpenInvoice}, nil
}

func (m *Machine) handleInvoice(ctx context.Context, s *Session, env Env, in string) (outcome, error) {
	if in == "0" {
		if s.From == StateMyInvoices {
			return outcome{event: EventBackList}, nil
		}
		return outcome{event: EventBackNumber}, nil
	}
	inv, err := m.pay.Invoice(ctx, huduma.InvoiceNumber(s.Invoice))
	if err != nil {
		return outcome{}, fmt.Errorf("load invoice: %w", err)
	}
	switch {
	case inv.Status == huduma.InvoicePaid && in == "1":
		if err := m.pay.ResendReceipt(ctx, inv.Number, env.Phone); err != nil {
			return outcome{}, fmt.Errorf("resend receipt: %w", err)
		}
		s.Done = tDoneReceipt.T(s.Lang)
		return outcome{event: EventFinish}, nil
	case payable(inv) && in == "1":
		return m.push(ctx, s, env.Phone)
	case payable(inv) && in == "2":
		s.PayFor = StateInvoice
		return outcome{event: EventPayOther}, nil
	}
	return invalid(tInvalidChoice.T(s.Lang)), nil
}

// handleMyInvoices is handleList over the phone's invoices.
func (m *Machine) handleMyInvoices(s *Session, in string) outcome {
	o := m.handleList(s, in)
	if o.event == EventOpenService { // handleList's pick: reinterpret as an invoice
		s.Invoice, s.From = s.picked, StateMyInvoices
		return outcome{event: EventOpenInvoice}
	}
	return o
}

// --- screens ---

func (m *Machine) inputPage(ctx context.Context, s *Session) (page, error) {
	sv, err := m.cat.ServiceByCode(ctx, s.Service)
	if err != nil {
		return page{}, fmt.Errorf("load service: %w", err)
	}
	if s.Field >= len(sv.Inputs) {
		return page{}, fmt.Errorf("service %d has no input %d", sv.Code, s.Field)
	}
	label := sv.Inputs[s.Field].Label(s.Lang)
	return page{header: []string{sv.Name(s.Lang), tEnterField.F(s.Lang, label)}, nav: true}, nil
}

func (m *Machine) confirmPage(ctx context.Context, s *Session, env Env) (page, error) {
	sv, err := m.cat.ServiceByCode(ctx, s.Service)
	if err != nil {
		return page{}, fmt.Errorf("load service: %w", err)
	}
	bands, err := m.cat.FeeBands(ctx)
	if err != nil {
		return page{}, fmt.Errorf("load fee bands: %w", err)
	}
	total := sv.Fee + huduma.ConvenienceFee(bands, sv.Fee)
	return page{
		header:  []string{sv.Name(s.Lang), tTotal.F(s.Lang, money(total), money(total-sv.Fee)), tPayingPhone.F(s.Lang, localPhone(env.Phone))},
		options: []option{{"1", tPayThisPhone.T(s.Lang)}, {"2", tPayOtherNumber.T(s.Lang)}},
		nav:     true,
	}, nil
}

// localPhone writes a number the way Kenyans read it: 0712 345678.
func localPhone(p huduma.MSISDN) string {
	d := p.Digits()
	if len(d) == 12 && strings.HasPrefix(d, "254") {
		return "0" + d[3:6] + " " + d[6:]
	}
	return string(p)
}

func (m *Machine) invoicePage(ctx context.Context, s *Session) (page, error) {
	inv, err := m.pay.Invoice(ctx, huduma.InvoiceNumber(s.Invoice))
	if err != nil {
		return page{}, fmt.Errorf("load invoice: %w", err)
	}
	lang := s.Lang
	var status string
	switch inv.Status {
	case huduma.InvoicePaid:
		when := ""
		if inv.PaidAt != nil {
			when = inv.PaidAt.In(eat).Format("02/01/2006")
		}
		status = tStatusPaid.F(lang, when, inv.MpesaReceipt)
	case huduma.InvoiceFailed:
		status = tStatusFailed.F(lang, huduma.ResultText(inv.Reason, lang))
	case huduma.InvoiceCancelled:
		status = tStatusCanc.F(lang, huduma.ResultText(inv.Reason, lang))
	case huduma.InvoiceExpired:
		status = tStatusExpired.T(lang)
	default:
		status = tStatusPending.T(lang)
	}
	p := page{header: []string{tInvoiceTitle.F(lang, inv.Number), inv.ServiceName, tAmount.F(lang, money(inv.Total)), status}, nav: true}
	switch {
	case inv.Status == huduma.InvoicePaid:
		p.options = []option{{"1", tSMSReceipt.T(lang)}}
	case inv.Status == huduma.InvoicePending:
		p.options = []option{{"1", tResendPrompt.T(lang)}, {"2", tPayOtherNumber.T(lang)}}
	case payable(inv):
		p.options = []option{{"1", tPayThisPhone.T(lang)}, {"2", tPayOtherNumber.T(lang)}}
	}
	return p, nil
}

var eat = time.FixedZone("EAT", 3*3600)

func (m *Machine) myInvoicesPage(ctx context.Context, s *Session, env Env) (page, []string, error) {
	invs, err := m.pay.InvoicesByPhone(ctx, env.Phone, s.Offset, pageSize+1)
	if err != nil {
		return page{}, nil, fmt.Errorf("list invoices: %w", err)
	}
	p := page{header: []string{tMyTitle.T(s.Lang)}, nav: true, moreBeyond: len(invs) > pageSize}
	if len(invs) == 0 && s.Offset == 0 {
		p.header = append(p.header, tNoInvoices.T(s.Lang))
		return p, nil, nil
	}
	var keys []string
	for _, inv := range invs[:min(len(invs), pageSize)] {
		p.items = append(p.items, fmt.Sprintf("%s KES %s %s", inv.Number, money(inv.Total), tStatusWord[inv.Status].T(s.Lang)))
		keys = append(keys, string(inv.Number))
	}
	return p, keys, nil
}
