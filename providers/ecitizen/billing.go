package ecitizen

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// NotifyPath is where e-Citizen posts payment notifications (every bill's
// notificationURL, with our callback token).
const NotifyPath = "/payments/ecitizen/notify"

// ClientName is the clientName every bill carries. e-Citizen requires a
// payer's name, which a USSD or SMS order never asks for; the bill is
// found by its number and billRefNumber, never by this name.
const ClientName = "eCitizen USSD payer"

// idInput is the service input whose value is sent as clientIDNumber.
const idInput = "id_number"

// Biller creates the bills of the ecitizen billing backend through a
// Client (providers.Biller).
type Biller struct {
	Client *Client
}

// CreateBill creates the bill for an invoice: billRefNumber is the
// invoice number (so a repeat returns the same bill), amountExpected its
// total (the same on every checkout of it, part payments or not: the bill
// is the invoice), clientMSISDN the payer, clientIDNumber the invoice's
// id_number input when it has one, else the payer's number (e-Citizen
// requires one, and the orders of most services never ask for it).
// A bill e-Citizen refused, or one that cannot be made, is EInvalid (no
// later try will succeed); other failures may succeed when tried again.
func (b Biller) CreateBill(ctx context.Context, o providers.BillOrder) (providers.CreatedBill, error) {
	inv := o.Invoice
	id := strings.TrimSpace(inv.Fields[idInput])
	if id == "" {
		id = o.Payer.Digits()
	}
	desc := inv.ServiceName
	if desc == "" {
		desc = "eCitizen service " + string(inv.Number)
	}
	created, err := b.Client.CreateBill(ctx, Bill{Ref: string(inv.Number), Amount: inv.Total, ServiceID: o.ServiceID, Description: desc,
		Phone: o.Payer, ClientName: ClientName, ClientIDNumber: id, SendSTK: o.SendSTK})
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalidBill) {
		return providers.CreatedBill{}, huduma.Errorf(huduma.EInvalid, "%s", err.Error())
	}
	if err != nil {
		return providers.CreatedBill{}, err
	}
	return providers.CreatedBill{Number: created.BillNumber, Link: created.Link}, nil
}

// Payments is what the notification route drives (the payments service).
type Payments interface {
	ConfirmBillPayment(ctx context.Context, p providers.BillPayment, raw []byte) (huduma.Outcome, error)
	RecordRejected(ctx context.Context, kind string, raw []byte, why string) error
	RecordNotice(ctx context.Context, kind string, raw []byte) error
}

// Routes returns the notification route. A missing or wrong secure_hash
// is answered 403 and changes nothing (counted as unauthorized); a body
// that cannot be read is recorded and answered 400; a signed notification
// whose status is not a payment (pending, failed: whether e-Citizen sends
// these is not known) is recorded and answered 200, so it is not posted
// again; a failure to store is answered 500 so e-Citizen posts again;
// anything settled (a repeat included) is 200.
func Routes(p Payments, s Signer) []providers.Route {
	answer := func(status int, body, reason string) providers.Response {
		return providers.Response{Status: status, ContentType: "application/json", Body: []byte(body), Reason: reason}
	}
	retry := answer(http.StatusInternalServerError, `{"status":"error","message":"try again"}`, providers.ReasonError)
	return []providers.Route{{Name: "ecitizen_notify", Method: http.MethodPost, Path: NotifyPath,
		Handle: func(ctx context.Context, r providers.Request) providers.Response {
			n, err := s.DecodeNotification(r.Header.Get("Content-Type"), r.Body)
			if errors.Is(err, ErrSignature) {
				return answer(http.StatusForbidden, `{"status":"error","message":"forbidden"}`, "unauthorized")
			}
			if err == nil && !n.Paid {
				if err := p.RecordNotice(ctx, "ecitizen", r.Body); err != nil {
					return retry
				}
				return answer(http.StatusOK, `{"status":"ok"}`, providers.ReasonUnknown)
			}
			if err != nil {
				if rerr := p.RecordRejected(ctx, "ecitizen", r.Body, err.Error()); rerr != nil {
					return retry
				}
				return answer(http.StatusBadRequest, `{"status":"error","message":"malformed"}`, providers.ReasonMalformed)
			}
			out, err := p.ConfirmBillPayment(ctx, providers.BillPayment{Ref: n.ClientInvoiceRef, Bill: n.InvoiceNumber, Amount: n.AmountPaid,
				Reference: n.PaymentReference, Dedupe: n.DedupeKey(), PaidAt: n.PaidAt, Phone: n.Fields["phone_number"]}, r.Body)
			if err != nil {
				return retry
			}
			ok := answer(http.StatusOK, `{"status":"ok"}`, "")
			if out == huduma.OutcomeDuplicate {
				ok.Reason = providers.ReasonDuplicate
			}
			return ok
		}}}
}
