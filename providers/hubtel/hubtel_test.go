package hubtel

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

func body(s string) providers.Request {
	return providers.Request{Method: http.MethodPost, Body: []byte(s), Header: http.Header{"Content-Type": {"application/json"}}}
}

// TestWire: request in, hop (or refusal) and reply out, as Hubtel sends
// them (docs sample shape: Sequence as a string; SDK: as a number).
func TestWire(t *testing.T) {
	cases := []struct {
		label  string
		req    string
		want   huduma.Hop
		err    string
		status int // of EncodeError for refusals
	}{
		{label: "initiation with the dialled string", req: `{"Type":"Initiation","Mobile":"254712345678","SessionId":"3c7948f1","ServiceCode":"2222","Message":"*2222#","Operator":"safaricom","Sequence":"1","ClientState":"","Platform":"USSD"}`,
			want: huduma.Hop{Provider: Name, SessionID: "3c7948f1", MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "safaricom", Start: true}},
		{label: "initiation with shortcut digits", req: `{"Type":"initiation","Mobile":"254712345678","SessionId":"s2","ServiceCode":"2222*3","Message":"*2222*3*1234567890#","Sequence":1}`,
			want: huduma.Hop{Provider: Name, SessionID: "s2", MSISDN: "+254712345678", ServiceCode: "*2222*3*1234567890#", Start: true}},
		{label: "initiation without a dial string", req: `{"Type":"Initiation","Mobile":"0712345678","SessionId":"s3","ServiceCode":"2222","Message":""}`,
			want: huduma.Hop{Provider: Name, SessionID: "s3", MSISDN: "+254712345678", ServiceCode: "*2222#", Start: true}},
		{label: "response: latest input only", req: `{"Type":"Response","Mobile":"254712345678","SessionId":"s1","ServiceCode":"2222","Message":" passport ","Sequence":"4"}`,
			want: huduma.Hop{Provider: Name, SessionID: "s1", MSISDN: "+254712345678", ServiceCode: "*2222#", Input: "passport"}},
		{label: "release", req: `{"Type":"Release","Mobile":"254712345678","SessionId":"s1","Message":""}`, err: "released", status: 200},
		{label: "timeout (SDK)", req: `{"Type":"Timeout","Mobile":"254712345678","SessionId":"s1"}`, err: "released", status: 200},
		{label: "unknown type", req: `{"Type":"AddToCart","Mobile":"254712345678","SessionId":"s1"}`, err: "Type", status: 400},
		{label: "not json", req: `Type=Initiation`, err: "not Hubtel JSON", status: 400},
		{label: "no session", req: `{"Type":"Response","Mobile":"254712345678","Message":"1"}`, err: "SessionId", status: 400},
		{label: "ghana number", req: `{"Type":"Initiation","Mobile":"233246912184","SessionId":"s1","Message":"*714#"}`, err: "Mobile", status: 400},
		{label: "500-character input", req: `{"Type":"Response","Mobile":"254712345678","SessionId":"s1","Message":"` + strings.Repeat("9", 500) + `"}`, err: "longer than", status: 400},
		{label: "empty body", req: ``, err: "JSON object", status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			got, err := USSD{}.DecodeHop(body(tc.req))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				resp := USSD{}.EncodeError(err)
				var r response
				if resp.Status != tc.status || json.Unmarshal(resp.Body, &r) != nil || r.Type != "Release" {
					t.Fatalf("error reply %d %s", resp.Status, resp.Body)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestEncodeReply(t *testing.T) {
	for _, tc := range []struct {
		reply huduma.Reply
		want  string
	}{
		{huduma.Reply{Text: "eCitizen *2222#\n1. Find a service"}, `{"Type":"Response","Message":"eCitizen *2222#\n1. Find a service"}`},
		{huduma.Reply{Text: "Thank you", End: true}, `{"Type":"Release","Message":"Thank you"}`},
	} {
		resp := USSD{}.EncodeReply(tc.reply)
		if resp.Status != 200 || resp.ContentType != "application/json" || string(resp.Body) != tc.want {
			t.Errorf("%+v: %d %s %s", tc.reply, resp.Status, resp.ContentType, resp.Body)
		}
	}
}
