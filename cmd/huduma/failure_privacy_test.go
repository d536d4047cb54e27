package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/providertest"
)

// testKannelPassword is the Kannel sendsms password the failure tests
// configure; it must never reach a log line or a table.
const testKannelPassword = "kannel-password-for-tests"

// errorColumns returns every stored provider error of a gateway's
// database: outbox and job last errors, rejected prompts' reasons and the
// audit log's details.
func errorColumns(t *testing.T, env map[string]string) []string {
	t.Helper()
	const q = `SELECT last_error FROM outbox WHERE last_error <> '' UNION ALL SELECT last_error FROM jobs WHERE last_error <> ''
		UNION ALL SELECT result_desc FROM payment_attempts WHERE result_desc <> '' UNION ALL SELECT detail FROM audit_log`
	return queryRows(t, env, q)
}

// echoEncodings are the ways the echoing providers below write back the
// request they got (a query or a form, percent-encoded as it arrived).
var echoEncodings = []func(raw string) string{
	func(raw string) string { v, _ := url.QueryUnescape(raw); return v }, // decoded
	func(raw string) string { return raw },                               // as sent, '+' for spaces
	func(raw string) string { return strings.ReplaceAll(raw, "+", "%20") },
	url.QueryEscape, // double-encoded
}

// echoServer answers every request by quoting all of it back (the query,
// the form, the headers' URL), in turn in each encoding, alternately as a
// 400 and a 500, as a provider or a proxy in front of it might.
func echoServer(t *testing.T) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		b, _ := io.ReadAll(r.Body)
		enc := echoEncodings[int(i)%len(echoEncodings)]
		w.WriteHeader([]int{http.StatusBadRequest, http.StatusInternalServerError}[i%2])
		w.Write([]byte("upstream refused " + enc(r.URL.RequestURI()) + " " + enc(string(b)) + " see http://proxy.example/err?key=" + testATKey))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestProviderFailuresLeakNothing: with every provider failing (Kannel and
// Daraja unreachable; Kannel, Africa's Talking and Daraja answering 4xx
// and 5xx with bodies that echo the whole request, in every encoding),
// nothing the gateway logs or stores about the failures holds a URL
// query, a credential, the callback token or the dlr-url it guards, a
// message text or a phone number, in any encoding.
func TestProviderFailuresLeakNothing(t *testing.T) {
	closed := "http://" + testenv.FreeAddr(t) // nothing listens there
	echo := echoServer(t)
	shapes := map[string]func(p map[string]string){
		"kannel and daraja unreachable": func(e map[string]string) {
			e["KANNEL_SENDSMS_URL"], e["KANNEL_USERNAME"], e["KANNEL_PASSWORD"] = closed+"/cgi-bin/sendsms", "huduma", testKannelPassword
			e["MPESA_BASE_URL"] = closed
		},
		"kannel echoing the request and daraja failing": func(e map[string]string) {
			e["KANNEL_SENDSMS_URL"], e["KANNEL_USERNAME"], e["KANNEL_PASSWORD"] = echo.URL+"/cgi-bin/sendsms", "huduma", testKannelPassword
		},
		"africa's talking echoing the request and daraja failing": func(e map[string]string) {
			e["AT_USERNAME"], e["AT_API_KEY"], e["AT_SMS_URL"] = "sandbox", testATKey, echo.URL
		},
	}
	for name, backend := range payBackends() {
		for shape, apply := range shapes {
			t.Run(name+"/"+shape, func(t *testing.T) {
				env := backend(t)
				env["HUDUMA_API_KEYS"], env["HUDUMA_SMS_RETRY"], env["HUDUMA_SMS_RATE"] = testAPIKey, "50ms", "500"
				apply(env)
				p := newPayEnv(t, env)
				if env["MPESA_BASE_URL"] != closed {
					cb := url.QueryEscape(p.env["HUDUMA_PUBLIC_URL"] + "/payments/stk/callback?token=" + testToken)
					p.fake.Fail(100, 500, `{"requestId":"x","errorCode":"500.003.1001","errorMessage":"Internal error for 254712000207 at `+cb+`"}`)
				}
				logsBefore := len(logSink.String())
				const phone = "+254712000207"
				e := &smsEnv{payEnv: p}
				if code, body := e.api("POST", "/otp", testAPIKey, `{"phone":"`+phone+`","purpose":"login"}`); code != 202 {
					t.Fatalf("otp: %d %v", code, body)
				}
				p.order(phone)
				// Every value the columns take on the way counts: a later
				// retry overwrites the first failure's reason.
				seen := map[string]bool{}
				var stored []string
				sms, mpesa := false, false
				for deadline := time.Now().Add(15 * time.Second); !sms || !mpesa; time.Sleep(50 * time.Millisecond) {
					for _, v := range errorColumns(t, p.env) {
						if !seen[v] {
							seen[v] = true
							stored = append(stored, v)
						}
						sms = sms || (strings.HasPrefix(v, "kannel") || strings.HasPrefix(v, "africastalking")) && !strings.Contains(v, "circuit open")
						mpesa = mpesa || strings.HasPrefix(v, "daraja")
					}
					if time.Now().After(deadline) {
						t.Fatalf("the failures were not recorded in time; stored: %q", stored)
					}
				}
				t.Logf("stored: %q", stored)
				logs := logSink.String()[logsBefore:]
				for _, where := range []struct{ what, text string }{{"logs", logs}, {"tables", strings.Join(stored, "\n")}} {
					if bad := scanLogs(where.text); len(bad) > 0 {
						t.Errorf("%s leak: %q", where.what, bad)
					}
					for _, s := range []string{"message=", "text=", "password=", "dlr-url", "sms/kannel/delivery", "payments/stk/callback",
						"eCitizen code", "eCitizen invoice", "expires in", "Paybill", testKannelPassword, testATKey, testToken,
						phone, phone[1:], "0" + phone[4:], phone[4:]} {
						for _, e := range providertest.Encodings(s) {
							if strings.Contains(where.text, e) {
								t.Errorf("%s carry %q", where.what, e)
							}
						}
					}
				}
			})
		}
	}
}
