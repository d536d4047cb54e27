package kannel

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
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
	open := func(base string) providers.SMSSender {
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
		{Label: "bad credentials", Status: 403, Body: "Authorization failed for sendsms", WantKind: providers.ErrPermanent, WantReason: "403"},
		{Label: "missing field", Status: 400, Body: "Missing receiver number, rejected", WantKind: providers.ErrPermanent},
		{Label: "bearerbox down", Status: 503, Body: "Sending failed.", WantKind: providers.ErrRetryable},
		{Label: "an answer echoing the text", Status: 500, Body: "failed: " + providertest.SendText, WantKind: providers.ErrRetryable,
			WantReason: "answer not shown"},
		{Label: "a refused dlr-url quoted back", Status: 403, Body: "Tried to change dlr_url to 'https://" + dlrPath + "?token=" + token + "', denied.",
			WantKind: providers.ErrPermanent, WantReason: "kannel 403: Tried to change dlr_url to '…', denied."},
		{Label: "a refused receiver quoted back", Status: 403, Body: "Tried to change receiver to '" + string(providertest.SendTo) + "', denied.",
			WantKind: providers.ErrPermanent, WantReason: "Tried to change receiver to '…', denied."},
		{Label: "denied receivers listed", Status: 403, Body: "Number(s) has/have been denied by white- and/or black-lists. Denied receivers are: " +
			string(providertest.SendTo), WantKind: providers.ErrPermanent, WantReason: "white- and/or black-lists."},
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
			Delivery: d(huduma.MsgDelivered, true), ReasonHas: "kannel 1: delivered to phone (ACK)"},
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
		{Label: "an id that is not UTF-8", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K%FF&status=1"), Status: 400},
		// The SMSC's answer is stored: kept valid text, and a number it
		// echoes is masked.
		{Label: "an answer that is not UTF-8", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=2&answer=NACK%2F%FF%00"), Status: 200,
			Delivery: &providertest.Delivery{ProviderID: "K1", State: huduma.MsgFailed, Final: true, Reason: "kannel 2: not delivered to phone (NACK)"}},
		// Only the answer's code is kept: the free text after it may
		// quote the phone or the message.
		{Label: "an answer naming the phone", Method: http.MethodGet, Path: DeliveryPath, Request: get("id=K1&status=16&answer=NACK%2F0x0b%2FInvalid+destination+254712345678"), Status: 200,
			Delivery: &providertest.Delivery{ProviderID: "K1", State: huduma.MsgFailed, Final: true, Reason: "kannel 16: rejected by SMSC (NACK/0x0b)"}},
	})
}

// TestInbound: texts to the short code as Kannel's sms-service get-url
// delivers them (id=%I&from=%p&text=%b&coding=%c&charset=%C), in each
// coding; what cannot be read is refused and reported nowhere.
func TestInbound(t *testing.T) {
	get := func(q string) providers.Request {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return providers.Request{Method: http.MethodGet, Query: v}
	}
	const uuid = "a3802498-bee4-4fa9-b2c9-a81a04871598"
	in := func(text string) *providertest.Inbound {
		return &providertest.Inbound{ID: "kannel:" + uuid, From: "+254712345678", Text: text}
	}
	base := "id=" + uuid + "&from=%2B254712345678&"
	providertest.RunCallbacks(t, InboundRoutes, []providertest.CallbackCase{
		// What Kannel 1.4.5 sends (captured from the real smsbox).
		{Label: "GSM-7 text, spaces as sent", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=FIND+++pasport&coding=0&charset=UTF-8"), Status: 200,
			Inbound: in("FIND   pasport")},
		{Label: "accents arrive as UTF-8", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=caf%C3%A9&coding=0&charset=UTF-8"), Status: 200, Inbound: in("caf\u00e9")},
		{Label: "UCS-2 as UTF-16BE", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%00H%00I%00+%06E&coding=2&charset=UTF-16BE"), Status: 200, Inbound: in("HI \u0645")},
		{Label: "a surrogate pair", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%D8%3D%DE%00&coding=2&charset=UTF-16BE"), Status: 200, Inbound: in("\U0001F600")},
		{Label: "an older Kannel's Latin-1", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=caf%E9&coding=0&charset=ISO-8859-1"), Status: 200, Inbound: in("caf\u00e9")},
		{Label: "no coding or charset: UTF-8", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=STOP"), Status: 200, Inbound: in("STOP")},
		{Label: "a NUL is dropped", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%00S%00T%00O%00P%00%00&coding=2&charset=UTF-16BE"), Status: 200, Inbound: in("STOP")},
		{Label: "an empty text is still a text", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=&coding=0&charset=UTF-8"), Status: 200, Inbound: in("")},
		{Label: "a national number", Method: http.MethodGet, Path: InboundPath, Request: get("id=" + uuid + "&from=0712345678&text=HELP"), Status: 200, Inbound: in("HELP")},
		// Refused, reported nowhere.
		{Label: "no id", Method: http.MethodGet, Path: InboundPath, Request: get("from=%2B254712345678&text=HELP"), Status: 400},
		{Label: "the escape left unsubstituted", Method: http.MethodGet, Path: InboundPath, Request: get("id=%25I&from=%2B254712345678&text=HELP"), Status: 400},
		{Label: "an id too long", Method: http.MethodGet, Path: InboundPath, Request: get("id=" + strings.Repeat("x", 65) + "&from=%2B254712345678&text=HELP"), Status: 400},
		{Label: "no sender", Method: http.MethodGet, Path: InboundPath, Request: get("id=" + uuid + "&text=HELP"), Status: 400},
		{Label: "not a Kenyan mobile", Method: http.MethodGet, Path: InboundPath, Request: get("id=" + uuid + "&from=22222&text=HELP"), Status: 400},
		{Label: "no text field (a get-url without %b)", Method: http.MethodGet, Path: InboundPath, Request: get("id=" + uuid + "&from=%2B254712345678"), Status: 400},
		{Label: "8-bit data", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%01%02&coding=1&charset=binary"), Status: 400},
		{Label: "UTF-8 that is not", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%FF%FE&coding=0&charset=UTF-8"), Status: 400},
		{Label: "UTF-16BE of an odd length", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%00H%00&coding=2&charset=UTF-16BE"), Status: 400},
		{Label: "a lone surrogate", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=%D8%3D%00H&coding=2&charset=UTF-16BE"), Status: 400},
		{Label: "an unknown charset", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=HELP&charset=EBCDIC"), Status: 400},
		{Label: "too long", Method: http.MethodGet, Path: InboundPath, Request: get(base + "text=" + strings.Repeat("a", 1601)), Status: 400},
	})
	// Kannel sends nothing of its own in answer: the body is empty.
	rep := &providertest.Reports{}
	if resp := InboundRoutes(rep)[0].Handle(context.Background(), get(base+"text=HELP")); resp.Status != 200 || len(resp.Body) != 0 {
		t.Fatalf("answer %d %q, want 200 and an empty body", resp.Status, resp.Body)
	}
}

// unknownReports knows no message.
type unknownReports struct{ *providertest.Reports }

func (unknownReports) Delivered(context.Context, string, huduma.MessageStatus, bool, string) error {
	return providers.ErrUnknownMessage
}

// TestReportAheadOfItsSend: a report for an id the outbox does not have
// yet (the SMSC reported before the send was written down) is refused
// with 503, so smsbox asks again, and counted as unknown, not as an
// error.
func TestReportAheadOfItsSend(t *testing.T) {
	q, _ := url.ParseQuery("id=K0123456789abcdef01234567&status=1")
	resp := Routes(unknownReports{&providertest.Reports{}})[0].Handle(context.Background(), providers.Request{Method: http.MethodGet, Query: q})
	if resp.Status != http.StatusServiceUnavailable || resp.Reason != providers.ReasonUnknown {
		t.Fatalf("answered %d (%q), want 503 counted as unknown", resp.Status, resp.Reason)
	}
}
