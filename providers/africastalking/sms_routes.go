package africastalking

import (
	"context"
	"net/http"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// SMSHandler is what AT's SMS callbacks drive (the messaging inbox).
type SMSHandler interface {
	Receive(ctx context.Context, id string, from huduma.MSISDN, text string) error
	Delivered(ctx context.Context, providerID, state string, final bool, reason string) error
}

// SMS callback paths.
const (
	InboundPath  = "/sms/africastalking/inbound"
	DeliveryPath = "/sms/africastalking/delivery"
)

// SMSRoutes returns AT's SMS callback routes. A form that cannot be read
// gets 400 and changes nothing; a failure to store gets 500 so AT retries
// (for about ten minutes); anything stored gets 200.
func SMSRoutes(h SMSHandler) []providers.Route {
	reply := func(status int, body string) providers.Response {
		return providers.Response{Status: status, ContentType: "text/plain", Body: []byte(body)}
	}
	return []providers.Route{
		{Method: http.MethodPost, Path: InboundPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			in, err := DecodeIncomingSMS(r.Form)
			if err != nil {
				return reply(http.StatusBadRequest, err.Error())
			}
			if err := h.Receive(ctx, in.ID, in.From, in.Text); err != nil {
				return reply(http.StatusInternalServerError, "try again")
			}
			return reply(http.StatusOK, "OK")
		}},
		{Method: http.MethodPost, Path: DeliveryPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			d, err := DecodeDeliveryReport(r.Form)
			if err != nil {
				return reply(http.StatusBadRequest, err.Error())
			}
			st := MapDeliveryStatus(d.Status)
			reason := d.FailureReason
			if st.State == "unknown" {
				reason = "unknown status " + d.Status
			}
			if err := h.Delivered(ctx, d.ID, st.State, st.Final, reason); err != nil {
				return reply(http.StatusInternalServerError, "try again")
			}
			return reply(http.StatusOK, "OK")
		}},
	}
}

// SendSMS adapts the client to a plain sender: it returns AT's message id.
func (c *SMSClient) SendSMS(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	res, err := c.Send(ctx, to, text)
	return res.MessageID, err
}
