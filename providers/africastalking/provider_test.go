package africastalking

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
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
	cases := []struct {
		label string
		req   providers.Request
		want  huduma.Hop
		err   string
	}{
		{label: "first hop", req: hopForm(""), want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "", Cumulative: true, Input: "", Start: true}},
		{label: "cumulative path", req: hopForm("1*2*passport"), want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "1*2*passport", Cumulative: true, Input: "passport"}},
		{label: "trailing star means empty input", req: hopForm("1*"), want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678",
			ServiceCode: "*2222#", Network: "63902", Path: "1*", Cumulative: true, Input: ""}},
		{label: "local phone format", req: hopForm("1", "phoneNumber", "0712345678"), want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a",
			MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "63902", Path: "1", Cumulative: true, Input: "1"}},
		{label: "dialoguss network code", req: hopForm("", "networkCode", "dialoguss"), want: huduma.Hop{Provider: Name, SessionID: "ATUid_5d3b4c2b8a",
			MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "dialoguss", Cumulative: true, Start: true}},
		{label: "missing session", req: hopForm("", "sessionId", ""), err: "sessionId is missing"},
		{label: "no service code (dialoguss) is the configured code", req: hopForm("", "serviceCode", ""), want: huduma.Hop{Provider: Name,
			SessionID: "ATUid_5d3b4c2b8a", MSISDN: "+254712345678", ServiceCode: "", Network: "63902", Cumulative: true, Start: true}},
		{label: "missing phone", req: hopForm("", "phoneNumber", ""), err: "phoneNumber"},
		{label: "garbage phone", req: hopForm("", "phoneNumber", "+1 (555) hello"), err: "phoneNumber"},
		{label: "landline", req: hopForm("", "phoneNumber", "+254202222222"), err: "phoneNumber"},
		{label: "5000-char text", req: hopForm(strings.Repeat("1*", 2500)), err: "longer than"},
		{label: "invalid utf-8", req: hopForm("1*\xff\xfe"), err: "UTF-8"},
		{label: "huge session id", req: hopForm("", "sessionId", strings.Repeat("x", 500)), err: "sessionId is malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			got, err := USSD{}.DecodeHop(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want containing %q", err, tc.err)
				}
				if huduma.ErrorCode(err) != huduma.EInvalid {
					t.Fatalf("error code %q, want invalid", huduma.ErrorCode(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("hop = %+v\nwant  %+v", got, tc.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	cases := []struct {
		reply  huduma.Reply
		body   string
		status int
	}{
		{huduma.Reply{Text: "eCitizen *2222#\n1. Find a service"}, "CON eCitizen *2222#\n1. Find a service", 200},
		{huduma.Reply{Text: "Thank you", End: true}, "END Thank you", 200},
	}
	for _, tc := range cases {
		r := USSD{}.EncodeReply(tc.reply)
		if string(r.Body) != tc.body || r.Status != tc.status || r.ContentType != "text/plain" {
			t.Errorf("EncodeReply(%+v) = %d %q %q", tc.reply, r.Status, r.ContentType, r.Body)
		}
	}
	r := USSD{}.EncodeError(huduma.Errorf(huduma.EInvalid, "x"))
	if r.Status != 400 || !strings.HasPrefix(string(r.Body), "END ") {
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
