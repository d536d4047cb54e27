package africastalking_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	at "github.com/huduma-ke/huduma/providers/africastalking"
)

// The decoders see whatever reaches the callback URLs. Fuzzing them with
// raw form bodies checks they never panic and that anything they accept
// is well-formed: a valid phone, bounded valid UTF-8, a consistent path.

func FuzzDecodeHop(f *testing.F) {
	f.Add("sessionId=ATUid_1&serviceCode=%2A2222%23&phoneNumber=%2B254712345678&networkCode=63902&text=")
	f.Add("sessionId=ATUid_1&serviceCode=%2A2222%23&phoneNumber=0712345678&text=1%2A1%2Apasport")
	f.Add("sessionId=x&serviceCode=*2222*3#&phoneNumber=254712345678&text=" + strings.Repeat("9", 600))
	f.Add("sessionId=%ff&serviceCode=%2A&phoneNumber=%2B1555&text=%ff%fe")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		hop, err := at.USSD{}.DecodeHop(providers.Request{Form: form})
		if err != nil {
			if huduma.ErrorCode(err) != huduma.EInvalid {
				t.Fatalf("a bad hop is %s, want invalid: %v", huduma.ErrorCode(err), err)
			}
			return
		}
		if _, err := huduma.ParseMSISDN(string(hop.MSISDN)); err != nil || hop.SessionID == "" {
			t.Fatalf("accepted hop %+v", hop)
		}
		if !utf8.ValidString(hop.Path) || len(hop.Path) > 1000 || !strings.HasSuffix(hop.Path, hop.Input) || hop.Start != (hop.Path == "") {
			t.Fatalf("accepted hop %+v", hop)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add("sessionId=ATUid_1&status=Success&phoneNumber=%2B254712345678&serviceCode=%2A2222%23&networkCode=63902&date=2026-11-22+10%3A00%3A00&cost=KES+0.0000&durationInMillis=3000&hopsCount=4&input=1%2A1&lastAppResponse=END+x&errorMessage=")
	f.Add("sessionId=&status=Failed")
	f.Add("sessionId=a&durationInMillis=-5&hopsCount=99999999999999999999&date=yesterday")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		ev, err := at.USSD{}.DecodeEvent(providers.Request{Form: form})
		if err == nil && (ev.SessionID == "" || !utf8.ValidString(ev.SessionID)) {
			t.Fatalf("accepted event %+v", ev)
		}
	})
}

func FuzzDecodeDeliveryReport(f *testing.F) {
	f.Add("id=ATXid_1&status=Success&phoneNumber=%2B254712345678&networkCode=63902&retryCount=0")
	f.Add("id=ATXid_2&status=Rejected&failureReason=UserInBlacklist&retryCount=x")
	f.Add("status=Success")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		d, err := at.DecodeDeliveryReport(form)
		if err != nil {
			return
		}
		if d.ID == "" || !utf8.ValidString(d.ID) || d.RetryCount < 0 {
			t.Fatalf("accepted report %+v", d)
		}
		if st, _, _ := at.MapDeliveryStatus(d.Status); st == "" {
			t.Fatalf("status %q maps to nothing", d.Status)
		}
	})
}

func FuzzDecodeIncomingSMS(f *testing.F) {
	f.Add("id=in-1&from=%2B254712345678&to=22222&text=STATUS+1234567890&date=2026-11-22T08%3A34%3A18.445Z&networkCode=63902&linkId=")
	f.Add("id=in-2&from=0712345678&to=22222&text=hali&date=2026-11-22+08%3A34%3A18")
	f.Add("id=&from=garbage&text=" + strings.Repeat("x", 2000))
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, err := at.DecodeIncomingSMS(form)
		if err != nil {
			return
		}
		if _, err := huduma.ParseMSISDN(string(in.From)); err != nil || in.ID == "" || !utf8.ValidString(in.Text) {
			t.Fatalf("accepted sms %+v", in)
		}
	})
}
