package africastalking

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/providertest"
)

func form(kv ...string) providers.Request {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return providers.Request{Method: http.MethodPost, Form: f}
}

// hopForm is a valid AT hop with text set; extra pairs override fields.
func hopForm(text string, kv ...string) providers.Request {
	base := []string{"sessionId", "ATUid_5d3b4c2b8a", "serviceCode", "*2222#", "phoneNumber", "+254712345678", "networkCode", "63902", "text", text}
	return form(append(base, kv...)...)
}

func TestDecodeHop(t *testing.T) {
	providertest.RunHops(t, USSD{}, []providertest.HopCase{
		{Label: "first hop", Request: hopForm(""), Want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "", Cumulative: true, Input: "", Start: true}},
		{Label: "cumulative path", Request: hopForm("1*2*passport"), Want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "1*2*passport", Cumulative: true, Input: "passport"}},
		{Label: "trailing star means empty input", Request: hopForm("1*"), Want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "1*", Cumulative: true, Input: ""}},
		{Label: "local phone format", Request: hopForm("1", "phoneNumber", "0712345678"), Want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a",
			MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "63902", Path: "1", Cumulative: true, Input: "1"}},
		{Label: "dialoguss network code", Request: hopForm("", "networkCode", "dialoguss"), Want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a",
			MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "dialoguss", Cumulative: true, Start: true}},
		{Label: "missing session", Request: hopForm("", "sessionId", ""), Err: "sessionId is missing"},
		{Label: "no service code (dialoguss) is the configured code", Request: hopForm("", "serviceCode", ""), Want: huduma.Hop{Provider: Name,
			SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678", ServiceCode: "", Network: "63902", Cumulative: true, Start: true}},
		{Label: "missing phone", Request: hopForm("", "phoneNumber", ""), Err: "phoneNumber"},
		{Label: "garbage phone", Request: hopForm("", "phoneNumber", "+1 (555) hello"), Err: "phoneNumber"},
		{Label: "landline", Request: hopForm("", "phoneNumber", "+254202222222"), Err: "phoneNumber"},
		{Label: "5000-char text", Request: hopForm(strings.Repeat("1*", 2500)), Err: "longer than"},
		{Label: "invalid utf-8", Request: hopForm("1*\xff\xfe"), Err: "UTF-8"},
		{Label: "huge session id", Request: hopForm("", "sessionId", strings.Repeat("x", 500)), Err: "sessionId is malformed"},
	})
}

func TestEncode(t *testing.T) {
	providertest.RunReplies(t, USSD{}, []providertest.ReplyCase{
		{Reply: huduma.Reply{Text: "eCitizen *2222#\n1. Find a service"}, Status: 200, ContentType: "text/plain", Body: "CON eCitizen *2222#\n1. Find a service"},
		{Reply: huduma.Reply{Text: "Thank you", End: true}, Status: 200, ContentType: "text/plain", Body: "END Thank you"},
	})
	r := USSD{}.EncodeError(huduma.Errorf(huduma.EInvalid, "x"))
	if r.Status != 200 || r.ContentType != "text/plain" || string(r.Body) != "END Sorry, we could not read that request." {
		t.Errorf("EncodeError = %d %q", r.Status, r.Body)
	}
}

func TestDecodeEvent(t *testing.T) {
	ev, err := USSD{}.DecodeEvent(form("date", "2026-11-22 10:00:05", "sessionId", "ATUid_1", "serviceCode", "*2222#",
		"networkCode", "63902", "phoneNumber", "+254712345678", "status", "Incomplete", "cost", "KES 0.10",
		"durationInMillis", "45000", "hopsCount", "4", "input", "1*1*pass", "lastAppResponse", "CON Results", "errorMessage", ""))
	if err != nil {
		t.Fatal(err)
	}
	if ev.SessionID != "ATUid_1" || ev.Status != "Incomplete" || ev.Hops != 4 || ev.DurationMS != 45000 ||
		ev.MSISDN != "+254712345678" || ev.Input != "1*1*pass" || ev.At.Hour() != 7 {
		t.Fatalf("event = %+v", ev)
	}
	// Lenient: odd numbers and a bad phone still record the event.
	ev, err = USSD{}.DecodeEvent(form("sessionId", "ATUid_2", "phoneNumber", "nope", "durationInMillis", "12.5", "hopsCount", "x", "cost", "0.1"))
	if err != nil || ev.MSISDN != "" || ev.DurationMS != 12 {
		t.Fatalf("lenient event = %+v %v", ev, err)
	}
	if _, err := (USSD{}).DecodeEvent(form("status", "Success")); err == nil {
		t.Fatal("event without sessionId accepted")
	}
}
