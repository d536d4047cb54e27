package africastalking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// SMS callback paths.
const (
	InboundPath  = "/sms/africastalking/inbound"
	DeliveryPath = "/sms/africastalking/delivery"
)

// The variables AT's SMS reads; AT_USERNAME selects it.
var smsVars = []providers.Var{
	{Name: "AT_USERNAME", Help: "Africa's Talking username (`sandbox` for the sandbox); set with AT_API_KEY to send SMS through AT"},
	{Name: "AT_API_KEY", Help: "Africa's Talking API key"},
	{Name: "AT_SMS_URL", Default: "AT live, or sandbox for username `sandbox`", Help: "AT messaging endpoint"},
	{Name: "AT_SENDER_ID", Help: "SMS sender ID / short code"},
}

func init() {
	providers.RegisterSMS(providers.SMSProvider{Name: Name, Vars: smsVars,
		Selected: func(getenv func(string) string) bool {
			for _, v := range smsVars {
				if strings.TrimSpace(getenv(v.Name)) != "" {
					return true
				}
			}
			return false
		},
		Check: checkSMS,
		Open:  openSMS,
	})
}

// checkSMS validates AT's variables.
func checkSMS(getenv func(string) string) error {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if u := get("AT_SMS_URL"); u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("config: AT_SMS_URL: want an http(s) URL, got %q", u)
	}
	if get("AT_USERNAME") == "" || get("AT_API_KEY") == "" {
		return fmt.Errorf("config: AT_API_KEY: set AT_USERNAME and AT_API_KEY together, or neither for the record-only outbox")
	}
	return nil
}

// openSMS returns the client and AT's routes.
func openSMS(env providers.SMSEnv) (providers.SMSSender, []providers.Route, error) {
	get := func(k string) string { return strings.TrimSpace(env.Getenv(k)) }
	c := NewSMSClient(SMSConfig{Username: get("AT_USERNAME"), APIKey: get("AT_API_KEY"), SenderID: get("AT_SENDER_ID"), URL: get("AT_SMS_URL")}, env.HTTP)
	return senderFunc(c.SendSMS), SMSRoutes(env.Reports), nil
}

type senderFunc func(ctx context.Context, to huduma.MSISDN, text string) (string, error)

func (f senderFunc) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	return f(ctx, to, text)
}

// SMSRoutes returns AT's SMS callback routes. A form that cannot be read
// gets 400 and changes nothing; a failure to store gets 500 so AT retries
// (for about ten minutes); anything stored gets 200.
func SMSRoutes(h providers.SMSReports) []providers.Route {
	reply := func(status int, body string) providers.Response {
		return providers.Response{Status: status, ContentType: "text/plain", Body: []byte(body)}
	}
	return []providers.Route{
		{Name: "sms_inbound", Method: http.MethodPost, Path: InboundPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			in, err := DecodeIncomingSMS(r.Form)
			if err != nil {
				return reply(http.StatusBadRequest, err.Error())
			}
			if err := h.Receive(ctx, in.ID, in.From, in.Text); err != nil {
				return reply(http.StatusInternalServerError, "try again")
			}
			return reply(http.StatusOK, "OK")
		}},
		{Name: "sms_delivery", Method: http.MethodPost, Path: DeliveryPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
			d, err := DecodeDeliveryReport(r.Form)
			if err != nil {
				return reply(http.StatusBadRequest, err.Error())
			}
			state, final, known := MapDeliveryStatus(d.Status)
			reason := d.FailureReason
			if !known {
				reason = "unknown status " + d.Status
			}
			// An id we do not have gets 200 too: AT's ids are its own, so
			// retrying would not make it ours.
			if err := h.Delivered(ctx, d.ID, state, final, reason); err != nil && !errors.Is(err, providers.ErrUnknownMessage) {
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
