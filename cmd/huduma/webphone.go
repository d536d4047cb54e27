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
// ecitizen backend with HUDUMA_PAYMENTS=simulator: the paybill form pays
// a bill from the phone's own network (Airtel Money from an Airtel
// number, and so on), and e-Citizen's notification settles it. The
// fake's prompts decide themselves by the phone's last two digits (00
// pays), so none waits on the web phone's screen.
type ecitizenPhone struct{ f *ecitizenfake.Fake }

var _ web.PaymentSimulator = ecitizenPhone{}

func (ecitizenPhone) Prompts(huduma.MSISDN) []web.SimPrompt { return nil }

func (ecitizenPhone) AnswerPrompt(huduma.MSISDN, string, web.SimAnswer) (web.SimOutcome, error) {
	return web.SimOutcome{}, huduma.Errorf(huduma.ENotFound, "e-Citizen's simulated prompts answer themselves (phones ending 00 pay)")
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
