package cgi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/providertest"
)

// Real Kenyan aggregators' field names (AT-style CON/END replies, each
// with its own request names).
var (
	jaza      = Route{Name: "jaza", Session: "SESSIONID", Phone: "MSISDN", Code: "USSDCODE", Input: "INPUT", Cumulative: true}
	crossgate = Route{Name: "crossgate", Session: "session_id", Phone: "msisdn", Code: "service_code", Input: "ussd_string", Network: "network_code", Cumulative: true}
	bonga     = Route{Name: "bonga", Session: "session_id", Phone: "mobile_number", Code: "service_code", Input: "message", Network: "network"}
)

func get(q string) providers.Request {
	v, _ := url.ParseQuery(q)
	return providers.Request{Method: http.MethodGet, Query: v, Form: url.Values{}}
}

// TestWire: each route's requests in, hops (or refusals) out, through
// the shared harness.
func TestWire(t *testing.T) {
	hop := func(label string, req providers.Request, want huduma.Hop) providertest.HopCase {
		return providertest.HopCase{Label: label, Request: req, Want: want}
	}
	refused := func(label string, req providers.Request, err string) providertest.HopCase {
		return providertest.HopCase{Label: label, Request: req, Err: err}
	}
	t.Run("jaza", func(t *testing.T) {
		providertest.RunHops(t, New(jaza), []providertest.HopCase{
			hop("first hop", get("SESSIONID=J1&MSISDN=254712345678&USSDCODE=*415%23&INPUT="),
				huduma.Hop{Provider: "jaza", SessionID: "J1", MSISDN: "+254712345678", ServiceCode: "*415#", Cumulative: true, Start: true}),
			hop("cumulative", get("SESSIONID=J1&MSISDN=254712345678&USSDCODE=415&INPUT=1*1*birth"),
				huduma.Hop{Provider: "jaza", SessionID: "J1", MSISDN: "+254712345678", ServiceCode: "*415#", Path: "1*1*birth", Input: "birth", Cumulative: true}),
			hop("post form", providers.Request{Method: http.MethodPost, Query: url.Values{}, Form: url.Values{"SESSIONID": {"J2"}, "MSISDN": {"254712345678"}, "INPUT": {"1"}}},
				huduma.Hop{Provider: "jaza", SessionID: "J2", MSISDN: "+254712345678", Path: "1", Input: "1", Cumulative: true}),
			refused("missing session", get("MSISDN=254712345678&INPUT="), "SESSIONID is missing"),
		})
	})
	t.Run("crossgate", func(t *testing.T) {
		providertest.RunHops(t, New(crossgate), []providertest.HopCase{
			hop("with network", get("session_id=C9&msisdn=0712345678&service_code=*2222%23&ussd_string=3&network_code=63902"),
				huduma.Hop{Provider: "crossgate", SessionID: "C9", MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "63902", Path: "3", Input: "3", Cumulative: true}),
			refused("garbage phone", get("session_id=C1&msisdn=hello&ussd_string="), "msisdn"),
		})
	})
	t.Run("bonga", func(t *testing.T) {
		providertest.RunHops(t, New(bonga), []providertest.HopCase{
			hop("latest only", get("session_id=B1&mobile_number=254712345678&service_code=2222&message=%20passport%20&network=saf"),
				huduma.Hop{Provider: "bonga", SessionID: "B1", MSISDN: "+254712345678", ServiceCode: "*2222#", Network: "saf", Input: "passport"}),
			hop("start", get("session_id=B1&mobile_number=254712345678&service_code=2222&message="),
				huduma.Hop{Provider: "bonga", SessionID: "B1", MSISDN: "+254712345678", ServiceCode: "*2222#", Start: true}),
			refused("huge input", get("session_id=B1&mobile_number=254712345678&message="+strings.Repeat("9", 1500)), "longer than"),
		})
	})
	providertest.RunReplies(t, New(jaza), []providertest.ReplyCase{
		{Reply: huduma.Reply{Text: "Hi", End: true}, Status: 200, ContentType: "text/plain", Body: "END Hi"},
		{Reply: huduma.Reply{Text: "Menu"}, Status: 200, ContentType: "text/plain", Body: "CON Menu"},
	})
}

func TestParseRoutes(t *testing.T) {
	got, err := ParseRoutes(" jaza:session=SESSIONID,phone=MSISDN,code=USSDCODE,input=INPUT ; bonga:session=session_id,phone=mobile_number,code=service_code,input=message,network=network,mode=latest")
	if err != nil || len(got) != 2 || got[0] != jaza || got[1] != bonga {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"Jaza:session=a,phone=b,input=c", "jaza:session=a,phone=b", "jaza:session=a,phone=b,input=c,mode=sometimes",
		"jaza:session=a,phone=b,input=c,colour=red", "jaza"} {
		if _, err := ParseRoutes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := ParseRoutes(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
}
