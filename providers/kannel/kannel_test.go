package kannel

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/messaging"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/providertest"
)

const (
	password = "kannel-sendsms-password"
	// token is the callback token our dlr-url carries: an echo of the
	// request must never carry it, nor the route it guards.
	token   = "kannel-callback-token-0123"
	dlrPath = "gw.example/sms/kannel/delivery"
)

// TestSendWire: the sendsms request Kannel expects, and its answers mapped
// onto the outbox's failures.
func TestSendWire(t *testing.T) {
	var lastID string
	open := func(base string) messaging.Sender {
		return NewClient(Config{SendSMSURL: base + "/cgi-bin/sendsms", Username: "huduma", Password: password, From: "22222",
			DLRURL: "https://" + dlrPath + "?token=" + token}, nil)
	}
	check := func(t *testing.T, r *http.Request, _ string) {
		got := r.URL.Query()
		if r.URL.Path != "/cgi-bin/sendsms" || got.Get("username") != "huduma" || got.Get("password") != password || got.Get("to") != string(providertest.SendTo) ||
			got.Get("text") != providertest.SendText || got.Get("from") != "22222" || got.Get("dlr-mask") != "31" || got.Get("charset") != "UTF-8" {
			t.Fatalf("query %v", got)
		}
		dlr, err := url.Parse(got.Get("dlr-url"))
		if err != nil || dlr.Host != "gw.example" || dlr.Query().Get("token") != token || !strings.HasSuffix(got.Get("dlr-url"), "&status=%d&answer=%A") {
			t.Fatalf("dlr-url %q", got.Get("dlr-url"))
		}
		lastID = dlr.Query().Get("id")
	}
	ours := func(id string) bool { return strings.HasPrefix(id, "K") && len(id) == 25 && id == lastID }
	providertest.RunSends(t, open, []string{password, token, dlrPath, "dlr-url"}, []providertest.SendCase{
		{Label: "accepted", Status: 202, Body: "0: Accepted for delivery", Check: check, WantID: ours},
		{Label: "queued", Status: 202, Body: "3: Queued for later delivery", Check: check, WantID: ours},
		{Label: "bad credentials", Status: 403, Body: "Authorization failed for sendsms", WantKind: messaging.ErrPermanent, WantReason: "403"},
		{Label: "missing field", Status: 400, Body: "Missing receiver number, rejected", WantKind: messaging.ErrPermanent},
		{Label: "bearerbox down", Status: 503, Body: "Sending failed.", WantKind: messaging.ErrRetryable},
		{Label: "an answer echoing the text", Status: 500, Body: "failed: " + providertest.SendText, WantKind: messaging.ErrRetryable,
			WantReason: "answer not shown"},
		{Label: "a refused dlr-url quoted back", Status: 403, Body: "Tried to change dlr_url to 'https://" + dlrPath + "?token=" + token + "', denied.",
			WantKind: messaging.ErrPermanent, WantReason: "kannel 403: Tried to change dlr_url to '…', denied."},
		{Label: "a refused receiver quoted back", Status: 403, Body: "Tried to change receiver to '" + string(providertest.SendTo) + "', denied.",
			WantKind: messaging.ErrPermanent, WantReason: "Tried to change receiver to '…', denied."},
		{Label: "denied receivers listed", Status: 403, Body: "Number(s) has/have been denied by white- and/or black-lists. Denied receivers are: " +
			string(providertest.SendTo), WantKind: messaging.ErrPermanent, WantReason: "white- and/or black-lists."},
	})
}

// TestReports: Kannel's report codes, as its dlr-url calls deliver them.
func TestReports(t *testing.T) {
	get := func(q string) providers.Request {
		v, _ := url.ParseQuery(q)
		return providers.Request{Method: http.MethodGet, Query: v}
	}
	d := func(state huduma.MessageStatus, final bool) *providertest.Delivery {
		return &providertest.Delivery{ProviderID: "K1", State: state, Final: final}
	}
	providertest.RunCallbacks(t, Routes, []providertest.CallbackCase{
		{Label: "delivered", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=1&answer=ACK%2F"), Status: 200,
			Delivery: d(huduma.MsgDelivered, true), ReasonHas: "kannel 1: delivered to phone (ACK/)"},
		{Label: "not delivered", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=2"), Status: 200, Delivery: d(huduma.MsgFailed, true), ReasonHas: "kannel 2"},
		{Label: "queued on the SMSC", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=4"), Status: 200, Delivery: d(huduma.MsgSent, false), ReasonHas: "queued"},
		{Label: "accepted by the SMSC", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=8"), Status: 200, Delivery: d(huduma.MsgSent, false), ReasonHas: "accepted"},
		{Label: "rejected by the SMSC (POST)", Method: http.MethodPost, Path: DeliveryPath, Request: get("id=K1&status=16&answer=NACK%2F0x0000000b"), Status: 200,
			Delivery: d(huduma.MsgFailed, true), ReasonHas: "rejected by SMSC"},
		{Label: "an unknown code is not final", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=64"), Status: 200, Delivery: d(huduma.MsgSent, false), ReasonHas: "unknown"},
		{Label: "an SMPP receipt keeps its stat and err, not the text", Method: http.MethodGet, Path: DeliveryPath,
			Request: get("id=K1&status=1&answer=" + url.QueryEscape("id:4b2a sub:001 dlvrd:001 submit date:2611221015 done date:2611221016 stat:DELIVRD err:000 text:Your eCitizen code i")),
			Status:  200, Delivery: d(huduma.MsgDelivered, true), ReasonHas: "kannel 1: delivered to phone (stat:DELIVRD err:000)"},
		{Label: "a NACK keeps its code, not its words", Method: http.MethodGet, Path: DeliveryPath,
			Request: get("id=K1&status=16&answer=" + url.QueryEscape("NACK/0x00000045/Submit failed for +254712345678")), Status: 200,
			Delivery: d(huduma.MsgFailed, true), ReasonHas: "rejected by SMSC (NACK/0x00000045)"},
		{Label: "an answer of another shape is dropped", Method: http.MethodGet, Path: DeliveryPath,
			Request: get("id=K1&status=2&answer=" + url.QueryEscape("failed for +254712345678: "+providertest.SendText)), Status: 200,
			Delivery: &providertest.Delivery{ProviderID: "K1", State: huduma.MsgFailed, Final: true, Reason: "kannel 2: not delivered to phone"}},
		{Label: "no id", Method: http.MethodGet, Path: DeliveryPath, Request: get("status=1"), Status: 400},
		{Label: "status not a number", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=one"), Status: 400},
	})
}
