package kannel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma/providers"
)

// TestSend: the sendsms request Kannel expects, and its answers mapped to
// retry or give up.
func TestSend(t *testing.T) {
	cases := []struct {
		label  string
		status int
		body   string
		want   error
	}{
		{"accepted", 202, "0: Accepted for delivery", nil},
		{"queued", 202, "3: Queued for later delivery", nil},
		{"bad credentials", 403, "Authorization failed for sendsms", ErrPermanent},
		{"missing field", 400, "Missing receiver number, rejected", ErrPermanent},
		{"bearerbox down", 503, "Sending failed.", ErrRetryable},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			var got url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.URL.Query()
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := NewClient(Config{SendSMSURL: srv.URL + "/cgi-bin/sendsms", Username: "huduma", Password: "pw", From: "22222",
				DLRURL: "https://gw.example/sms/kannel/delivery?token=tok"}, nil)
			id, err := c.Send(context.Background(), "+254712345678", "PAID: receipt")
			if tc.want != nil {
				if !errors.Is(err, tc.want) || id != "" {
					t.Fatalf("%q, %v; want %v", id, err, tc.want)
				}
				return
			}
			if err != nil || !strings.HasPrefix(id, "K") || len(id) != 25 {
				t.Fatalf("%q %v", id, err)
			}
			if got.Get("username") != "huduma" || got.Get("password") != "pw" || got.Get("to") != "+254712345678" || got.Get("text") != "PAID: receipt" ||
				got.Get("from") != "22222" || got.Get("dlr-mask") != "31" || got.Get("charset") != "UTF-8" {
				t.Fatalf("query %v", got)
			}
			if want := "https://gw.example/sms/kannel/delivery?id=" + id + "&token=tok&status=%d&answer=%A"; got.Get("dlr-url") != want {
				t.Fatalf("dlr-url %q, want %q", got.Get("dlr-url"), want)
			}
		})
	}
	c := NewClient(Config{SendSMSURL: "http://127.0.0.1:1/cgi-bin/sendsms", DLRURL: "http://x/"}, nil)
	if _, err := c.Send(context.Background(), "+254712345678", "x"); !errors.Is(err, ErrRetryable) {
		t.Fatalf("kannel unreachable: %v", err)
	}
}

type reports struct {
	id, state, reason string
	final             bool
	err               error
}

func (r *reports) Delivered(_ context.Context, id, state string, final bool, reason string) error {
	r.id, r.state, r.final, r.reason = id, state, final, reason
	return r.err
}

// TestReports: Kannel's report codes, as its dlr-url calls deliver them.
func TestReports(t *testing.T) {
	cases := []struct {
		query, state string
		final        bool
		status       int
	}{
		{"id=K1&status=1&answer=ACK%2F", "delivered", true, 200},
		{"id=K1&status=2", "failed", true, 200},
		{"id=K1&status=4", "sent", false, 200},
		{"id=K1&status=8", "sent", false, 200},
		{"id=K1&status=16&answer=NACK%2F0x0000000b", "failed", true, 200},
		{"id=K1&status=64", "sent", false, 200},
		{"status=1", "", false, 400},
		{"id=K1&status=one", "", false, 400},
	}
	for _, tc := range cases {
		r := &reports{}
		q, _ := url.ParseQuery(tc.query)
		resp := Routes(r)[0].Handle(context.Background(), providers.Request{Method: http.MethodGet, Query: q})
		if resp.Status != tc.status || r.state != tc.state || r.final != tc.final {
			t.Errorf("%s: %d %+v", tc.query, resp.Status, r)
		}
	}
	r := &reports{err: errors.New("db down")}
	q, _ := url.ParseQuery("id=K1&status=1")
	if resp := Routes(r)[0].Handle(context.Background(), providers.Request{Query: q}); resp.Status != 500 {
		t.Fatalf("store failure: %d, want 500 so Kannel retries", resp.Status)
	}
}
