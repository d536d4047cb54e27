package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// aggregator drives one wire format: hop sends the input typed on this
// screen (all inputs so far for cumulative formats) and returns the
// screen text and whether the session ended.
type aggregator struct {
	name string
	hop  func(t *testing.T, base, session, phone string, inputs []string) (string, bool)
}

func readAll(t *testing.T, resp *http.Response, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
	}
	return b
}

func conEnd(t *testing.T, b []byte) (string, bool) {
	t.Helper()
	s := string(b)
	switch {
	case strings.HasPrefix(s, "CON "):
		return s[4:], false
	case strings.HasPrefix(s, "END "):
		return s[4:], true
	}
	t.Fatalf("not CON/END: %q", s)
	return "", false
}

var payingPhoneRE = regexp.MustCompile(`Paying phone: [0-9 ]+`)

var aggregators = []aggregator{
	{"africastalking", func(t *testing.T, base, session, phone string, in []string) (string, bool) {
		resp, err := http.PostForm(base+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session},
			"serviceCode": {"*2222#"}, "phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(in, "*")}})
		return conEnd(t, readAll(t, resp, err))
	}},
	{"hubtel", func(t *testing.T, base, session, phone string, in []string) (string, bool) {
		body := map[string]any{"Type": "Response", "Mobile": strings.TrimPrefix(phone, "+"), "SessionId": session, "ServiceCode": "2222",
			"Operator": "safaricom", "Sequence": fmt.Sprint(len(in) + 1)}
		if len(in) == 0 {
			body["Type"], body["Message"] = "Initiation", "*2222#"
		} else {
			body["Message"] = in[len(in)-1] // only the latest input
		}
		raw, _ := json.Marshal(body)
		resp, err := http.Post(base+"/ussd/hubtel?token="+testToken, "application/json", strings.NewReader(string(raw)))
		b := readAll(t, resp, err)
		var r struct{ Type, Message string }
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("hubtel reply %q", b)
		}
		return r.Message, r.Type == "Release"
	}},
	{"crossgate (GET, cumulative)", func(t *testing.T, base, session, phone string, in []string) (string, bool) {
		q := url.Values{"session_id": {session}, "msisdn": {strings.TrimPrefix(phone, "+")}, "service_code": {"*2222#"},
			"ussd_string": {strings.Join(in, "*")}, "network_code": {"63902"}, "token": {testToken}}
		resp, err := http.Get(base + "/ussd/crossgate?" + q.Encode())
		return conEnd(t, readAll(t, resp, err))
	}},
	{"bonga (GET, latest only)", func(t *testing.T, base, session, phone string, in []string) (string, bool) {
		q := url.Values{"session_id": {session}, "mobile_number": {"0" + phone[4:]}, "service_code": {"2222"}, "network": {"saf"}, "token": {testToken}}
		if len(in) > 0 {
			q.Set("message", in[len(in)-1])
		}
		resp, err := http.Get(base + "/ussd/bonga?" + q.Encode())
		return conEnd(t, readAll(t, resp, err))
	}},
}

// TestSameJourneyEveryAggregator runs one journey (a duplicate start and a
// retried hop included) through Africa's Talking, Hubtel JSON and two
// configured GET-style aggregators, and expects the same screens.
func TestSameJourneyEveryAggregator(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_CGI_ROUTES"] = "crossgate:session=session_id,phone=msisdn,code=service_code,input=ussd_string,network=network_code;" +
				"bonga:session=session_id,phone=mobile_number,code=service_code,input=message,network=network,mode=latest"
			p := newPayEnv(t, env)
			inputs := []string{"1", "1", "birth", "1", "1", "12345", "1"}
			var want []string
			for i, ag := range aggregators {
				session := fmt.Sprintf("agg%d_%d", i, time.Now().UnixNano())
				phone := fmt.Sprintf("+2547083742%02d", 10+i)
				var got []string
				for n := 0; n <= len(inputs); n++ {
					screen, end := ag.hop(t, p.base, session, phone, inputs[:n])
					if n == 0 { // the aggregator repeats the start
						if again, _ := ag.hop(t, p.base, session, phone, nil); again != screen {
							t.Fatalf("%s: duplicate start gave %q after %q", ag.name, again, screen)
						}
					}
					if n == 3 && !strings.HasPrefix(ag.name, "hubtel") && !strings.HasPrefix(ag.name, "bonga") {
						// a cumulative hop retried is answered the same
						if again, _ := ag.hop(t, p.base, session, phone, inputs[:n]); again != screen {
							t.Fatalf("%s: retried hop gave %q after %q", ag.name, again, screen)
						}
					}
					if end != (n == len(inputs)) {
						t.Fatalf("%s: after %v end=%v: %q", ag.name, inputs[:n], end, screen)
					}
					screen = payingPhoneRE.ReplaceAllString(invoiceRE.ReplaceAllString(screen, "Invoice N"), "Paying phone: P")
					got = append(got, screen)
				}
				if want == nil {
					want = got
					if !strings.HasPrefix(got[len(got)-1], "Invoice N") {
						t.Fatalf("the journey did not end with an invoice: %q", got[len(got)-1])
					}
					continue
				}
				for n := range want {
					if got[n] != want[n] {
						t.Fatalf("%s screen %d:\n%q\nwant (as africastalking)\n%q", ag.name, n, got[n], want[n])
					}
				}
			}
		})
	}
}
