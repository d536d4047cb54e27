package main

import (
	"context"
	"errors"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
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
