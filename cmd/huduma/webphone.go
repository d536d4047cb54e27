package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
	"github.com/huduma-ke/huduma/web"
)

// simulatorPhone is the payment simulator as the web phone reaches it:
// the prompts on its screen, their answers, and the paybill form.
type simulatorPhone struct{ f *darajafake.Fake }

var _ web.PaymentSimulator = simulatorPhone{}

func (s simulatorPhone) Prompts(phone huduma.MSISDN) []web.SimPrompt {
	var out []web.SimPrompt
	for _, p := range s.f.Hold(phone.Digits()) {
		out = append(out, web.SimPrompt{Checkout: p.Checkout, Amount: p.Amount, Account: p.Account, Business: p.Business, Expires: p.Expires})
	}
	return out
}

func (s simulatorPhone) AnswerPrompt(phone huduma.MSISDN, checkout string, a web.SimAnswer) (web.SimOutcome, error) {
	out, err := s.f.Answer(phone.Digits(), checkout, darajafake.Answer{Cancel: a.Cancel, PIN: a.PIN})
	switch {
	case errors.Is(err, darajafake.ErrNoPrompt):
		return web.SimOutcome{}, huduma.Errorf(huduma.ENotFound, "this phone has no such M-Pesa prompt")
	case errors.Is(err, darajafake.ErrAnswered):
		return web.SimOutcome{}, huduma.Errorf(huduma.EConflict, "the prompt was answered already, or timed out")
	case err != nil:
		return web.SimOutcome{}, err
	}
	return web.SimOutcome{Code: out.Code, Desc: out.Desc}, nil
}

func (s simulatorPhone) PayBill(ctx context.Context, p web.SimPaybill) (web.SimPaybillResult, error) {
	res, err := s.f.PayBill(ctx, darajafake.PaybillPayment{Phone: p.Phone.Digits(), Account: p.Account, Amount: p.Amount,
		Validate: p.Validate, FullNumber: p.FullNumber})
	if err != nil {
		return web.SimPaybillResult{}, huduma.Errorf(huduma.EInvalid, "%s", err.Error())
	}
	return web.SimPaybillResult{TransID: res.TransID, Rejected: res.Rejected, Confirmed: res.Confirmed}, nil
}

func (s simulatorPhone) PIN() string { return darajafake.DefaultPIN }

// ecitizenPhone is the fake e-Citizen as the web phone reaches it, on the
// ecitizen backend with HUDUMA_PAYMENTS=simulator: the prompts e-Citizen
// sends wait on the web phone showing the number (else the phone's last
// two digits decide them), and the paybill form pays a bill from the
// phone's own network (Airtel Money from an Airtel number, and so on);
// e-Citizen's notification settles either.
type ecitizenPhone struct{ f *ecitizenfake.Fake }

var _ web.PaymentSimulator = ecitizenPhone{}

func (s ecitizenPhone) Prompts(phone huduma.MSISDN) []web.SimPrompt {
	var out []web.SimPrompt
	for _, p := range s.f.Hold(phone.Digits()) {
		out = append(out, web.SimPrompt{Checkout: p.ID, Amount: p.Amount, Account: p.BillNumber, Business: ecitizenPaybill, Expires: p.Expires})
	}
	return out
}

func (s ecitizenPhone) AnswerPrompt(phone huduma.MSISDN, id string, a web.SimAnswer) (web.SimOutcome, error) {
	paid, err := s.f.Answer(phone.Digits(), id, a.Cancel, a.PIN)
	switch {
	case errors.Is(err, ecitizenfake.ErrNoPrompt):
		return web.SimOutcome{}, huduma.Errorf(huduma.ENotFound, "this phone has no such M-Pesa prompt")
	case errors.Is(err, ecitizenfake.ErrAnswered):
		return web.SimOutcome{}, huduma.Errorf(huduma.EConflict, "the prompt was answered already, or timed out")
	case err != nil:
		return web.SimOutcome{}, err
	}
	out := darajafake.Outcomes["00"]
	switch {
	case a.Cancel:
		out = darajafake.Outcomes["01"]
	case !paid:
		out = darajafake.Outcomes["03"]
	}
	return web.SimOutcome{Code: out.Code, Desc: out.Desc}, nil
}

// channels is the rail a payer on each network pays a bill from.
var channels = map[huduma.Network]string{huduma.Safaricom: ecitizenfake.ChannelMpesa, huduma.Airtel: ecitizenfake.ChannelAirtel,
	huduma.Equitel: ecitizenfake.ChannelEquitel, huduma.Telkom: ecitizenfake.ChannelTKash}

func (s ecitizenPhone) PayBill(_ context.Context, p web.SimPaybill) (web.SimPaybillResult, error) {
	channel, ok := channels[p.Phone.Network()]
	if !ok {
		channel = ecitizenfake.ChannelBank
	}
	d, err := s.f.PayBill(strings.TrimSpace(p.Account), p.Amount, channel)
	switch {
	case errors.Is(err, ecitizenfake.ErrNoBill):
		return web.SimPaybillResult{}, huduma.Errorf(huduma.EInvalid, "no e-Citizen bill has that number: quote the bill number the invoice's text gives")
	case err != nil:
		return web.SimPaybillResult{}, huduma.Errorf(huduma.EInvalid, "%s", err.Error())
	}
	return web.SimPaybillResult{TransID: paymentReference(d.Body), Confirmed: d.Delivered}, nil
}

func (ecitizenPhone) PIN() string { return darajafake.DefaultPIN }

// paymentReference is the reference of the payment a notification body
// reports (the last of its list), or "" when it cannot be read.
func paymentReference(body []byte) string {
	var n struct {
		Refs []struct {
			Ref string `json:"payment_reference"`
		} `json:"payment_reference"`
	}
	if json.Unmarshal(body, &n) != nil || len(n.Refs) == 0 {
		return ""
	}
	return n.Refs[len(n.Refs)-1].Ref
}
