package africastalking_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	at "github.com/huduma-ke/huduma/providers/africastalking"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/providers/providertest"
)

const apiKey = "at-api-key-for-provider-tests"

// answer is AT's 201 with one recipient of statusCode.
func answer(statusCode int, status string) string {
	return `{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":` +
		strconv.Itoa(statusCode) + `,"number":"+254712345678","status":"` + status + `","cost":"KES 0.8000","messageId":"ATXid_9c1"}]}}`
}

// TestSMSSendWire: the request AT expects, and every kind of answer
// mapped onto the outbox's three failures.
func TestSMSSendWire(t *testing.T) {
	open := func(base string) providers.SMSSender {
		c := at.NewSMSClient(at.SMSConfig{Username: "sandbox", APIKey: apiKey, SenderID: "ECITIZEN", URL: base + "/version1/messaging"}, &http.Client{Timeout: 2 * time.Second})
		return senderOf(c)
	}
	checkForm := func(t *testing.T, r *http.Request, body string) {
		f, _ := url.ParseQuery(body)
		if r.Method != http.MethodPost || r.URL.Path != "/version1/messaging" || r.Header.Get("apiKey") != apiKey || r.Header.Get("Accept") != "application/json" ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			t.Fatalf("request %s %s %v", r.Method, r.URL.Path, r.Header)
		}
		if f.Get("username") != "sandbox" || f.Get("to") != string(providertest.SendTo) || f.Get("message") != providertest.SendText ||
			f.Get("from") != "ECITIZEN" || f.Get("bulkSMSMode") != "1" || f.Get("enqueue") != "1" {
			t.Fatalf("form %v", f)
		}
	}
	providertest.RunSends(t, open, []string{apiKey}, []providertest.SendCase{
		{Label: "accepted", Status: 201, Body: answer(101, "Success"), Check: checkForm, WantID: func(id string) bool { return id == "ATXid_9c1" }},
		{Label: "queued is accepted", Status: 201, Body: answer(102, "Queued"), WantID: func(id string) bool { return id == "ATXid_9c1" }},
		{Label: "recipient blacklisted", Status: 201, Body: answer(406, "UserInBlacklist"), WantKind: providers.ErrPermanent, WantReason: "406 UserInBlacklist"},
		{Label: "recipient gateway error", Status: 201, Body: answer(500, "InternalServerError"), WantKind: providers.ErrRetryable},
		{Label: "server error echoing the message", Status: 500, Body: "failed for +254712345678: " + providertest.SendText, WantKind: providers.ErrRetryable},
		{Label: "throttled", Status: 429, Header: http.Header{"Retry-After": {"7"}}, WantKind: providers.ErrThrottled, WantAfter: 7 * time.Second},
		{Label: "bad api key", Status: 401, Body: "The supplied authentication is invalid", WantKind: providers.ErrPermanent,
			WantReason: "401 The supplied authentication is invalid"},
		{Label: "a missing field named", Status: 400, Body: "Request is missing required form field 'to' for " + string(providertest.SendTo),
			WantKind: providers.ErrPermanent, WantReason: "400 Request is missing required form field"},
		{Label: "an unknown recipient status keeps no words", Status: 201, Body: answer(499, "Refused "+string(providertest.SendTo)),
			WantKind: providers.ErrPermanent, WantReason: "499 unknown recipient status"},
		{Label: "unreadable answer", Status: 201, Body: "<html>", WantKind: providers.ErrRetryable},
	})
}

// senderOf adapts the client to providers.SMSSender.
func senderOf(c *at.SMSClient) providers.SMSSender { return sendFunc(c.SendSMS) }

type sendFunc func(ctx context.Context, to huduma.MSISDN, text string) (string, error)

func (f sendFunc) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	return f(ctx, to, text)
}

// TestSMSAgainstTheFake: the in-repo fake AT (which the official Node SDK
// also drives) accepts what the client sends.
func TestSMSAgainstTheFake(t *testing.T) {
	f, err := atfake.Start(apiKey)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := at.NewSMSClient(at.SMSConfig{Username: "sandbox", APIKey: apiKey, SenderID: "ECITIZEN", URL: f.SMSURL()}, &http.Client{})
	res, err := c.Send(t.Context(), "+254712345678", "OTP 123456")
	if err != nil || res.MessageID == "" || res.StatusCode != 101 {
		t.Fatalf("send: %+v %v", res, err)
	}
	s := f.Sent()[0]
	if s.Username != "sandbox" || s.To != "+254712345678" || s.Message != "OTP 123456" || s.From != "ECITIZEN" ||
		s.BulkSMSMode != "1" || s.Enqueue != "1" || s.APIKey != apiKey || s.Accept != "application/json" {
		t.Fatalf("wire request %+v", s)
	}
}

// TestSMSCallbacks: AT's delivery reports and incoming texts, as its
// callbacks post them.
func TestSMSCallbacks(t *testing.T) {
	post := func(f url.Values) providers.Request { return providers.Request{Method: http.MethodPost, Form: f} }
	providertest.RunCallbacks(t, at.SMSRoutes, []providertest.CallbackCase{
		{Label: "delivered", Method: http.MethodPost, Path: at.DeliveryPath, Request: post(atfake.DeliveryReportForm("ATXid_1", "Success", "+254712345678", "")),
			Status: 200, Delivery: &providertest.Delivery{ProviderID: "ATXid_1", State: huduma.MsgDelivered, Final: true}},
		{Label: "failed with a reason", Method: http.MethodPost, Path: at.DeliveryPath, Request: post(atfake.DeliveryReportForm("ATXid_2", "Failed", "+254712345678", "UserInBlackList")),
			Status: 200, Delivery: &providertest.Delivery{ProviderID: "ATXid_2", State: huduma.MsgFailed, Final: true, Reason: "UserInBlackList"}},
		{Label: "buffered keeps it sent", Method: http.MethodPost, Path: at.DeliveryPath, Request: post(atfake.DeliveryReportForm("ATXid_3", "Buffered", "+254712345678", "")),
			Status: 200, Delivery: &providertest.Delivery{ProviderID: "ATXid_3", State: huduma.MsgSent}},
		{Label: "an unknown word is not final", Method: http.MethodPost, Path: at.DeliveryPath, Request: post(atfake.DeliveryReportForm("ATXid_4", "Wibble", "+254712345678", "")),
			Status: 200, Delivery: &providertest.Delivery{ProviderID: "ATXid_4", State: huduma.MsgSent}, ReasonHas: "unknown status Wibble"},
		{Label: "report without an id", Method: http.MethodPost, Path: at.DeliveryPath, Request: post(url.Values{"status": {"Success"}}), Status: 400},
		{Label: "incoming text", Method: http.MethodPost, Path: at.InboundPath, Request: post(atfake.IncomingSMSForm("m1", "0712345678", "22222", "STATUS 1234567890")),
			Status: 200, Inbound: &providertest.Inbound{ID: "m1", From: "+254712345678", Text: "STATUS 1234567890"}},
		{Label: "incoming without an id", Method: http.MethodPost, Path: at.InboundPath, Request: post(url.Values{"from": {"+254712345678"}}), Status: 400},
		{Label: "incoming from a garbage number", Method: http.MethodPost, Path: at.InboundPath, Request: post(url.Values{"id": {"x"}, "from": {"nope"}}), Status: 400},
		{Label: "incoming text not UTF-8", Method: http.MethodPost, Path: at.InboundPath,
			Request: post(url.Values{"id": {"x"}, "from": {"+254712345678"}, "text": {"\xff"}}), Status: 400},
	})
}
