package daraja_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/providertest"
)

// TestErrorAnswersEchoingTheRequestAreNotKept: a Daraja (or a proxy in
// front of it) that answers a push, a query or a refund by quoting the
// request back, in any encoding and with any status, leaves none of it in
// the error the worker stores and logs: not the callback URL with its
// token, the password, the phone, nor the credentials.
func TestErrorAnswersEchoingTheRequestAreNotKept(t *testing.T) {
	const token = "daraja-callback-token-0123"
	encodings := map[string]func(string) string{
		"plain":          func(s string) string { return s },
		"percent (+)":    url.QueryEscape,
		"percent (%20)":  func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") },
		"double-encoded": func(s string) string { return url.QueryEscape(url.QueryEscape(s)) },
	}
	for name, enc := range encodings {
		for _, status := range []int{200, 400, 500} {
			t.Run(name+" "+strconv.Itoa(status), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/oauth/") {
						io.WriteString(w, `{"access_token":"tok","expires_in":"3599"}`)
						return
					}
					b, _ := io.ReadAll(r.Body)
					echo, _ := json.Marshal("Bad Request - Invalid request: " + enc(string(b)))
					w.WriteHeader(status)
					if status == 200 {
						// A 200 whose codes say no, quoting the request.
						io.WriteString(w, `{"ResponseCode":"1","ResponseDescription":`+string(echo)+`,"ResultCode":"1","ResultDesc":`+string(echo)+`}`)
						return
					}
					io.WriteString(w, `{"requestId":"x","errorCode":"400.002.02","errorMessage":`+string(echo)+`}`)
				}))
				defer srv.Close()
				cfg := daraja.Config{BaseURL: srv.URL, ConsumerKey: "consumer-key-0123", ConsumerSecret: "consumer-secret-0123", Passkey: passkey,
					ShortCode: "174379", CallbackURL: "https://gw.example/payments/stk/callback?token=" + token,
					Initiator: "apiop", SecurityCredential: "security-credential-0123", ReversalResultURL: "https://gw.example/payments/reversal/result?token=" + token,
					ReversalTimeoutURL: "https://gw.example/payments/reversal/timeout?token=" + token, Timeout: 2 * time.Second, MaxRetries: 1,
					Backoff: time.Millisecond}
				c := daraja.New(cfg, &http.Client{}, slog.New(slog.DiscardHandler))
				ctx := context.Background()
				var texts []string
				if _, err := c.StkPush(ctx, push); err != nil {
					texts = append(texts, err.Error())
				}
				if res, err := c.StkQuery(ctx, "ws_CO_1"); err != nil {
					texts = append(texts, err.Error())
				} else {
					texts = append(texts, res.ResultDesc)
				}
				if _, err := c.Reverse(ctx, huduma.ReversalRequest{TransID: "RKTQDM7W6S", Amount: 100}); err != nil {
					texts = append(texts, err.Error())
				}
				if len(texts) < 2 {
					t.Fatalf("the echoing answers were taken for success: %q", texts)
				}
				d := push.Phone.Digits()
				for _, text := range texts {
					for _, v := range []string{token, "payments/stk/callback", passkey, "consumer-secret-0123", "security-credential-0123",
						string(push.Phone), d, "0" + d[3:], d[3:], "Password"} {
						for _, e := range providertest.Encodings(v) {
							if strings.Contains(text, e) {
								t.Fatalf("%q carries %q", text, e)
							}
						}
					}
				}
			})
		}
	}
}
