// Package fakesms is an SMS provider that exists to show what adding one
// takes: this package, registering itself in init(), and one blank import
// where the gateway is wired (cmd/huduma's fakesms_test.go does it for the
// test binary only). FAKESMS=on selects it; it keeps what it is asked to
// send, and its delivery-report and inbound routes are mounted only when
// it is selected.
package fakesms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// DeliveryPath is the fake's delivery-report route: POST id=&state=.
const DeliveryPath = "/sms/fakesms/delivery"

// InboundPath is the fake's route for texts to the short code: POST
// id=&from=&text=.
const InboundPath = "/sms/fakesms/inbound"

// Sent is one message the fake was asked to send.
type Sent struct {
	ID   string
	To   huduma.MSISDN
	Text string
}

var (
	mu   sync.Mutex
	sent []Sent
)

// Messages returns what was sent so far.
func Messages() []Sent {
	mu.Lock()
	defer mu.Unlock()
	return append([]Sent(nil), sent...)
}

func init() {
	providers.RegisterSMS(providers.SMSProvider{Name: "fakesms",
		Selected: func(getenv func(string) string) bool { return getenv("FAKESMS") == "on" },
		Check:    func(func(string) string) error { return nil },
		Open: func(env providers.SMSEnv) (providers.SMSSender, []providers.Route, error) {
			return sender{}, []providers.Route{{Name: "sms_delivery", Method: http.MethodPost, Path: DeliveryPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
				state := huduma.MessageStatus(r.Form.Get("state"))
				if err := env.Reports.Delivered(ctx, r.Form.Get("id"), state, state.Final(), "fake report"); err != nil && !errors.Is(err, providers.ErrUnknownMessage) {
					return providers.Response{Status: http.StatusInternalServerError}
				}
				return providers.Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("OK")}
			}}, {Name: "sms_inbound", Method: http.MethodPost, Path: InboundPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
				from, err := huduma.ParseMSISDN(r.Form.Get("from"))
				if err != nil || r.Form.Get("id") == "" {
					return providers.Response{Status: http.StatusBadRequest}
				}
				if err := env.Reports.Receive(ctx, "fakesms:"+r.Form.Get("id"), from, r.Form.Get("text")); err != nil {
					return providers.Response{Status: http.StatusInternalServerError}
				}
				return providers.Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("OK")}
			}}}, nil
		},
	})
}

type sender struct{}

func (sender) Send(_ context.Context, to huduma.MSISDN, text string) (string, error) {
	if strings.Contains(text, "FAIL") {
		return "", providers.Permanent("fakesms: asked to fail")
	}
	mu.Lock()
	defer mu.Unlock()
	id := fmt.Sprintf("F%d", len(sent)+1)
	sent = append(sent, Sent{ID: id, To: to, Text: text})
	return id, nil
}
