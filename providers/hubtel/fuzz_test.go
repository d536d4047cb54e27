package hubtel

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// FuzzDecodeHop: whatever body reaches /ussd/hubtel, the decoder never
// panics, refuses it as invalid (or acknowledges a closed session), or
// returns a hop the engine can trust: a Kenyan mobile, a bounded session
// id and input in valid UTF-8, a start exactly on Initiation, and a
// service code in USSD form.
func FuzzDecodeHop(f *testing.F) {
	f.Add([]byte(`{"Type":"Initiation","Mobile":"254712345678","SessionId":"3c7948f1","ServiceCode":"2222","Message":"*2222#","Operator":"safaricom","Sequence":"1"}`))
	f.Add([]byte(`{"Type":"initiation","Mobile":"0712345678","SessionId":"s2","ServiceCode":"2222*3","Message":"*2222*3*1234567890#","Sequence":1}`))
	f.Add([]byte(`{"Type":"Response","Mobile":"+254712345678","SessionId":"s1","ServiceCode":"*2222#","Message":" passport "}`))
	f.Add([]byte(`{"Type":"Release","Mobile":"254712345678","SessionId":"s1"}`))
	f.Add([]byte(`{"Type":"Response","Mobile":"233246912184","SessionId":"\u0000","Message":"\ud800"}`))
	f.Add([]byte(`{"Type":"Response","Mobile":"254712345678","SessionId":"s1","Message":"1"}{"Type":"Release"}`))
	f.Add([]byte("{\"Type\":\"Response\",\"Mobile\":\"254712345678\",\"SessionId\":\"s\xff\",\"Message\":\"\xfe\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		hop, err := USSD{}.DecodeHop(providers.Request{Method: http.MethodPost, Body: body})
		if err != nil {
			if !errors.Is(err, ErrClosed) && huduma.ErrorCode(err) != huduma.EInvalid {
				t.Fatalf("a bad hop is %s, want invalid: %v", huduma.ErrorCode(err), err)
			}
			return
		}
		if _, err := huduma.ParseMSISDN(string(hop.MSISDN)); err != nil || hop.Provider != Name {
			t.Fatalf("accepted hop %+v", hop)
		}
		if hop.SessionID == "" || len(hop.SessionID) > maxSessionID || !utf8.ValidString(hop.SessionID) || !utf8.ValidString(hop.Input) || len(hop.Input) > maxMessage {
			t.Fatalf("accepted hop %+v", hop)
		}
		if hop.Cumulative || hop.Path != "" || (hop.Start && hop.Input != "") || hop.Input != strings.TrimSpace(hop.Input) {
			t.Fatalf("accepted hop %+v: Hubtel sends the latest input only", hop)
		}
		if c := hop.ServiceCode; c != "" && (!strings.HasPrefix(c, "*") || !strings.HasSuffix(c, "#") || len(c) > 42 || !utf8.ValidString(c)) {
			t.Fatalf("service code %q", c)
		}
	})
}
