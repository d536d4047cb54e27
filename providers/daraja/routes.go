package daraja

import (
	"context"
	"net/http"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Callback paths. They avoid the words Safaricom rejects in URLs (mpesa,
// safaricom, query, sql, exec, cmd).
const (
	STKCallbackPath   = "/payments/stk/callback"
	C2BValidationPath = "/payments/c2b/validation"
	C2BConfirmPath    = "/payments/c2b/confirmation"
	// PullNoticePath is the CallBackURL the Pull Transactions API is
	// registered with; Huduma pulls on its own schedule, so what arrives
	// there is only kept.
	PullNoticePath = "/payments/pull/notice"
)

// Routes returns Daraja's callback routes. An unreadable body is recorded
// and answered 400 (changing nothing); a failure to store is answered 500
// so Daraja retries; anything stored is acknowledged.
func Routes(p providers.MpesaReports) []providers.Route {
	ack := providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: Ack()}
	retry := providers.Response{Status: http.StatusInternalServerError, ContentType: "application/json",
		Body: []byte(`{"ResultCode":1,"ResultDesc":"Try again"}`), Reason: providers.ReasonError}
	badReq := func(ctx context.Context, kind string, r providers.Request, err error) providers.Response {
		if rerr := p.RecordRejected(ctx, kind, r.Body, err.Error()); rerr != nil {
			return retry
		}
		return providers.Response{Status: http.StatusBadRequest, ContentType: "application/json",
			Body: []byte(`{"ResultCode":1,"ResultDesc":"Rejected"}`), Reason: providers.ReasonMalformed}
	}
	return []providers.Route{
		{Name: "stk", Method: http.MethodPost, Path: STKCallbackPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			res, err := DecodeSTKCallback(r.Body)
			if err != nil {
				return badReq(ctx, "stk", r, err)
			}
			out, err := p.HandleSTK(ctx, res, r.Body)
			if err != nil {
				return retry
			}
			return withReason(ack, out)
		}},
		{Name: "c2b_validation", Method: http.MethodPost, Path: C2BValidationPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			c, err := DecodeC2B(r.Body)
			if err != nil {
				return providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: C2BReject(C2BOther), Reason: providers.ReasonMalformed}
			}
			code, err := p.ValidateC2B(ctx, c.payment())
			switch {
			case err != nil:
				// Daraja applies the registered default when we fail;
				// refusing is the safe answer for an unreadable state.
				return providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: C2BReject(C2BOther), Reason: providers.ReasonError}
			case code == C2BInvalidAccount:
				return providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: C2BReject(code), Reason: providers.ReasonUnknown}
			case code != "":
				return providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: C2BReject(code)}
			}
			return providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: C2BAccept()}
		}},
		{Name: "reversal", Method: http.MethodPost, Path: ReversalResultPath, Handle: reversalRoute(p, false, ack, retry, badReq)},
		{Name: "reversal", Method: http.MethodPost, Path: ReversalTimeoutPath, Handle: reversalRoute(p, true, ack, retry, badReq)},
		{Name: "pull_notice", Method: http.MethodPost, Path: PullNoticePath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			if err := p.RecordNotice(ctx, "pull", r.Body); err != nil {
				return retry
			}
			return ack
		}},
		{Name: "c2b_confirmation", Method: http.MethodPost, Path: C2BConfirmPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			c, err := DecodeC2B(r.Body)
			if err != nil {
				return badReq(ctx, "c2b", r, err)
			}
			out, err := p.ConfirmC2B(ctx, c.payment(), r.Body)
			if err != nil {
				return retry
			}
			return withReason(providers.Response{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"ResultCode":0,"ResultDesc":"Success"}`)}, out)
		}},
	}
}

// withReason names, for the callback metrics, a repeat or a callback
// about nothing of ours among the acknowledged ones.
func withReason(r providers.Response, out huduma.Outcome) providers.Response {
	switch out {
	case huduma.OutcomeDuplicate:
		r.Reason = providers.ReasonDuplicate
	case huduma.OutcomeUnknown:
		r.Reason = providers.ReasonUnknown
	}
	return r
}

// reversalRoute serves a reversal's result; on the timeout path the
// reversal was not processed, whatever the body says.
func reversalRoute(p providers.MpesaReports, timedOut bool, ack, retry providers.Response,
	badReq func(context.Context, string, providers.Request, error) providers.Response) func(context.Context, providers.Request) providers.Response {
	return func(ctx context.Context, r providers.Request) providers.Response {
		res, err := DecodeReversalResult(r.Body)
		if err != nil {
			return badReq(ctx, "reversal", r, err)
		}
		res.TimedOut = timedOut
		out, err := p.HandleReversal(ctx, res, r.Body)
		if err != nil {
			return retry
		}
		return withReason(ack, out)
	}
}

func (c C2B) payment() huduma.PaybillPayment {
	return huduma.PaybillPayment{TransID: c.TransID, Account: c.BillRefNumber, Amount: c.Amount, MSISDN: c.MSISDN, At: c.TransTime}
}
