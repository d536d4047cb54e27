package cgi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// FuzzDecodeHop: whatever a GET-style aggregator sends, as a query or a
// form, to a route that reads the whole path (Jaza's fields) or the
// latest input (Bonga's), the decoder never panics, refuses it as
// invalid, or returns a hop the engine can trust: a Kenyan mobile, a
// bounded session id and path in valid UTF-8, the input the end of the
// path, a start exactly on an empty path, and a service code in USSD
// form.
func FuzzDecodeHop(f *testing.F) {
	f.Add("SESSIONID=J1&MSISDN=254712345678&USSDCODE=*415%23&INPUT=", "", false)
	f.Add("SESSIONID=J1&MSISDN=254712345678&USSDCODE=415&INPUT=1*1*birth", "", false)
	f.Add("", "SESSIONID=J2&MSISDN=0712345678&INPUT=1", false)
	f.Add("session_id=B1&mobile_number=%2B254712345678&service_code=2222&message=+passport+&network=safaricom", "", true)
	f.Add("session_id=B1&mobile_number=254712345678&message=", "message=1", true)
	f.Add("SESSIONID=%ff&MSISDN=%2B1555&INPUT=%ff%fe&USSDCODE=%2A%23", "", false)
	f.Add("SESSIONID=J1&MSISDN=254712345678&USSDCODE=%ff&INPUT=", "", false)
	f.Add("SESSIONID="+strings.Repeat("s", 129)+"&MSISDN=254712345678&INPUT="+strings.Repeat("9*", 501), "", false)
	f.Fuzz(func(t *testing.T, query, form string, latest bool) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		fv, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		route := Route{Name: "jaza", Session: "SESSIONID", Phone: "MSISDN", Code: "USSDCODE", Input: "INPUT", Network: "NETWORK", Cumulative: true}
		if latest {
			route = Route{Name: "bonga", Session: "session_id", Phone: "mobile_number", Code: "service_code", Input: "message", Network: "network"}
		}
		hop, err := New(route).DecodeHop(providers.Request{Method: http.MethodGet, Query: q, Form: fv})
		if err != nil {
			if huduma.ErrorCode(err) != huduma.EInvalid {
				t.Fatalf("a bad hop is %s, want invalid: %v", huduma.ErrorCode(err), err)
			}
			return
		}
		if _, err := huduma.ParseMSISDN(string(hop.MSISDN)); err != nil || hop.Provider != route.Name || hop.Cumulative != route.Cumulative {
			t.Fatalf("accepted hop %+v", hop)
		}
		if hop.SessionID == "" || len(hop.SessionID) > maxSessionID || !utf8.ValidString(hop.SessionID) {
			t.Fatalf("session id %q", hop.SessionID)
		}
		if !utf8.ValidString(hop.Path) || !utf8.ValidString(hop.Input) || len(hop.Path) > maxInput || len(hop.Input) > maxInput {
			t.Fatalf("accepted hop %+v", hop)
		}
		if route.Cumulative {
			if !strings.HasSuffix(hop.Path, hop.Input) || strings.Contains(hop.Input, "*") || hop.Start != (hop.Path == "") {
				t.Fatalf("cumulative hop %+v", hop)
			}
		} else if hop.Path != "" || hop.Input != strings.TrimSpace(hop.Input) || hop.Start != (hop.Input == "") {
			t.Fatalf("latest-input hop %+v", hop)
		}
		if c := hop.ServiceCode; c != "" && (!strings.HasPrefix(c, "*") || !strings.HasSuffix(c, "#") || len(c) > 42 || !utf8.ValidString(c)) {
			t.Fatalf("service code %q", c)
		}
	})
}
