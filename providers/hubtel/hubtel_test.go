package hubtel

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/providertest"
)

func body(s string) providers.Request {
	return providers.Request{Method: http.MethodPost, Body: []byte(s), Header: http.Header{"Content-Type": {"application/json"}}}
}

// TestWire: request in, hop (or refusal) and reply out, as Hubtel sends
// them (docs sample shape: Sequence as a string; SDK: as a number).
func TestWire(t *testing.T) {
	providertest.RunHops(t, USSD{}, []providertest.HopCase{
		{Label: "initiation with the dialled string", Request: body(`{"Type":"Initiation","Mobile":"254712345678","SessionId":"3c7948f1","ServiceCode":"2222","Message":"*2222#","Operator":"safaricom","Sequence":"1","ClientState":"","Platform":"USSD"}`),
			Want: huduma.Hop{Provider: Name, SessionID: "3c7948f1", MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "safaricom", Start: true}},
		{Label: "initiation with shortcut digits", Request: body(`{"Type":"initiation","Mobile":"254712345678","SessionId":"s2","ServiceCode":"2222*3","Message":"*2222*3*1234567890#","Sequence":1}`),
			Want: huduma.Hop{Provider: Name, SessionID: "s2", MSISDN: "+254712345678", ServiceCode: "*2222*3*1234567890#", Start: true}},
		{Label: "initiation without a dial string", Request: body(`{"Type":"Initiation","Mobile":"0712345678","SessionId":"s3","ServiceCode":"2222","Message":""}`),
			Want: huduma.Hop{Provider: Name, SessionID: "s3", MSISDN: "+254712345678", ServiceCode: "*2222#", Start: true}},
		{Label: "response: latest input only", Request: body(`{"Type":"Response","Mobile":"254712345678","SessionId":"s1","ServiceCode":"2222","Message":" passport ","Sequence":"4"}`),
			Want: huduma.Hop{Provider: Name, SessionID: "s1", MSISDN: "+254712345678", ServiceCode: "*2222#", Input: "passport"}},
		{Label: "release", Request: body(`{"Type":"Release","Mobile":"254712345678","SessionId":"s1","Message":""}`), Err: "released", Status: 200},
		{Label: "timeout (SDK)", Request: body(`{"Type":"Timeout","Mobile":"254712345678","SessionId":"s1"}`), Err: "released", Status: 200},
		{Label: "unknown type", Request: body(`{"Type":"AddToCart","Mobile":"254712345678","SessionId":"s1"}`), Err: "Type"},
		{Label: "not json", Request: body(`Type=Initiation`), Err: "not Hubtel JSON"},
		{Label: "no session", Request: body(`{"Type":"Response","Mobile":"254712345678","Message":"1"}`), Err: "SessionId"},
		{Label: "ghana number", Request: body(`{"Type":"Initiation","Mobile":"233246912184","SessionId":"s1","Message":"*714#"}`), Err: "Mobile"},
		{Label: "500-character input", Request: body(`{"Type":"Response","Mobile":"254712345678","SessionId":"s1","Message":"` + strings.Repeat("9", 500) + `"}`), Err: "longer than"},
		{Label: "empty body", Request: body(``), Err: "JSON object"},
	})
	// A refusal is still a Hubtel answer: a Release.
	var r response
	if resp := (USSD{}).EncodeError(errors.New("x")); json.Unmarshal(resp.Body, &r) != nil || r.Type != "Release" {
		t.Fatalf("error reply %s", resp.Body)
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
