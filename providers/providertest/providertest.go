// Package providertest is the shared harness for every provider's
// wire-level test table (courier's handlertest is the model): a USSD
// provider's requests in and hops out, an SMS provider's sends against a
// scripted provider answer over real HTTP on loopback, and its callbacks
// in and reports out. Each runner also adds the cases every provider must
// pass: an unreadable request is refused with EInvalid and answered 200
// with a last screen saying so (a 4xx ends the session without our
// words on the phone); an
// unreachable provider is a retryable failure; no error text carries a
// secret, the message text or the full phone number.
package providertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// HopCase is one request to a USSD provider and the hop it decodes to,
// or the refusal.
type HopCase struct {
	Label   string
	Request providers.Request
	Want    huduma.Hop
	// Err, when set, is a piece of the refusal's text.
	Err string
	// Status is the refusal's status (0: an unreadable request's 200
	// with a last screen that says so).
	Status int
}

// RunHops runs a USSD provider's decoding table.
func RunHops(t *testing.T, p providers.USSD, cases []HopCase) {
	t.Helper()
	cases = append(cases, HopCase{Label: "empty request (every provider)", Request: providers.Request{Method: http.MethodPost, Form: url.Values{},
		Query: url.Values{}, Header: http.Header{}}, Err: ""})
	for _, tc := range cases {
		t.Run(tc.Label, func(t *testing.T) {
			got, err := p.DecodeHop(tc.Request)
			refused := tc.Err != "" || strings.HasPrefix(tc.Label, "empty request")
			if !refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got != tc.Want {
					t.Fatalf("hop = %+v\nwant  %+v", got, tc.Want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %+v", got)
			}
			if !strings.Contains(err.Error(), tc.Err) {
				t.Fatalf("err = %v, want containing %q", err, tc.Err)
			}
			resp := p.EncodeError(err)
			switch {
			case tc.Status != 0 && resp.Status != tc.Status:
				t.Fatalf("refusal answered %d, want %d", resp.Status, tc.Status)
			case tc.Status == 0 && (resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "could not read")):
				// A 4xx ends the session without our words on the phone.
				t.Fatalf("refusal answered %d %q, want 200 with a last screen that says it could not read the request", resp.Status, resp.Body)
			case tc.Status == 0 && huduma.ErrorCode(err) != huduma.EInvalid:
				t.Fatalf("refusal code %q, want %q", huduma.ErrorCode(err), huduma.EInvalid)
			}
		})
	}
}

// ReplyCase is one screen and the exact wire answer for it.
type ReplyCase struct {
	Reply       huduma.Reply
	Status      int
	ContentType string
	Body        string
}

// RunReplies runs a USSD provider's encoding table.
func RunReplies(t *testing.T, p providers.USSD, cases []ReplyCase) {
	t.Helper()
	for _, tc := range cases {
		r := p.EncodeReply(tc.Reply)
		if r.Status != tc.Status || r.ContentType != tc.ContentType || string(r.Body) != tc.Body {
			t.Errorf("EncodeReply(%+v) = %d %q %q, want %d %q %q", tc.Reply, r.Status, r.ContentType, r.Body, tc.Status, tc.ContentType, tc.Body)
		}
	}
}

// The message every send case sends: a phone and a text whose digits an
// error must never carry.
const (
	SendTo   huduma.MSISDN = "+254712345678"
	SendText               = "Your eCitizen code is 493817. It expires in 5 minutes."
)

// SendCase is one send against a provider that answers as scripted.
type SendCase struct {
	Label string
	// Status, Header and Body are the provider's answer.
	Status int
	Header http.Header
	Body   string
	// Check inspects the request the provider received (nil: none).
	Check func(t *testing.T, r *http.Request, body string)
	// WantKind is providers.ErrRetryable, ErrThrottled or ErrPermanent;
	// nil for an accepted send.
	WantKind  error
	WantAfter time.Duration
	// WantID checks the returned provider id of an accepted send.
	WantID func(id string) bool
	// WantReason is a piece of the failure's reason.
	WantReason string
}

// RunSends runs an SMS provider's send table. open builds the sender on
// the given base URL of a local fake; secrets are the credentials it
// sends, which no error text may carry.
func RunSends(t *testing.T, open func(baseURL string) providers.SMSSender, secrets []string, cases []SendCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Label, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if tc.Check != nil {
					tc.Check(t, r, string(b))
				}
				for k, vs := range tc.Header {
					for _, v := range vs {
						w.Header().Add(k, v)
					}
				}
				w.WriteHeader(tc.Status)
				io.WriteString(w, tc.Body)
			}))
			defer srv.Close()
			id, err := open(srv.URL).Send(context.Background(), SendTo, SendText)
			checkSend(t, tc, id, err, secrets)
		})
	}
	// A provider may answer an error by echoing the request it got: every
	// value we sent, in whatever encoding it chose. None of it may reach
	// the failure's reason, whatever the encoding and the status.
	for _, enc := range echoEncodings {
		for _, status := range []int{http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable} {
			t.Run("provider echoes the request "+enc.name+" in a "+strconv.Itoa(status)+" (every provider)", func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					w.WriteHeader(status)
					io.WriteString(w, "refused: "+enc.echo(r.URL.RawQuery)+"\n"+enc.echo(string(b)))
				}))
				defer srv.Close()
				_, err := open(srv.URL).Send(context.Background(), SendTo, SendText)
				if err != nil {
					AssertRedacted(t, err.Error(), secrets...)
				}
			})
		}
	}
	t.Run("provider unreachable (every provider)", func(t *testing.T) {
		ln := httptest.NewServer(http.NotFoundHandler())
		base := ln.URL
		ln.Close() // nothing listens there now
		_, err := open(base).Send(context.Background(), SendTo, SendText)
		checkSend(t, SendCase{WantKind: providers.ErrRetryable}, "", err, secrets)
	})
}

func checkSend(t *testing.T, tc SendCase, id string, err error, secrets []string) {
	t.Helper()
	if tc.WantKind == nil {
		if err != nil {
			t.Fatalf("send failed: %v", err)
		}
		if tc.WantID != nil && !tc.WantID(id) {
			t.Fatalf("provider id %q", id)
		}
		return
	}
	if !errors.Is(err, tc.WantKind) {
		t.Fatalf("err %v, want %v", err, tc.WantKind)
	}
	var se *providers.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err %v is not a *providers.SendError", err)
	}
	if tc.WantAfter != 0 && se.After != tc.WantAfter {
		t.Fatalf("retry after %s, want %s", se.After, tc.WantAfter)
	}
	if tc.WantReason != "" && !strings.Contains(se.Reason, tc.WantReason) {
		t.Fatalf("reason %q, want containing %q", se.Reason, tc.WantReason)
	}
	AssertRedacted(t, err.Error(), secrets...)
}

// AssertRedacted fails when text carries a secret, the sent message text
// (its code, or any of its words run together) or the phone number in any
// of its forms, each in any encoding a provider might echo it in: as sent,
// percent-encoded with '+' or "%20" for spaces, or encoded twice.
func AssertRedacted(t *testing.T, text string, secrets ...string) {
	t.Helper()
	d := SendTo.Digits()
	values := append([]string{"493817", "eCitizen code", "expires in", SendText, string(SendTo), d, "0" + d[3:], d[3:]}, secrets...)
	for _, v := range values {
		for _, s := range Encodings(v) {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("%q carries %q", text, s)
			}
		}
	}
}

// Encodings returns s as a provider might echo it: as it is, and
// percent-encoded (spaces as '+' and as "%20", with and without '/' and
// ':' escaped) once and twice.
func Encodings(s string) []string {
	once := []string{s, url.QueryEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), url.PathEscape(s)}
	out := once
	for _, e := range once[1:] {
		out = append(out, url.QueryEscape(e), url.PathEscape(e))
	}
	return out
}

// echoEncodings are the ways the echoing provider writes back what it got
// (a query string or a form body, as it arrived percent-encoded).
var echoEncodings = []struct {
	name string
	echo func(raw string) string
}{
	{"decoded", func(raw string) string { return eachValue(raw, func(k, v string) string { return k + "=" + v }) }},
	{"as sent", func(raw string) string { return raw }},
	{"percent-encoded with %20", func(raw string) string {
		return eachValue(raw, func(k, v string) string { return k + "=" + strings.ReplaceAll(url.QueryEscape(v), "+", "%20") })
	}},
	{"percent-encoded with +", func(raw string) string {
		return eachValue(raw, func(k, v string) string { return k + "=" + url.QueryEscape(v) })
	}},
	{"double-encoded", func(raw string) string { return url.QueryEscape(raw) }},
}

// eachValue rewrites each field of a percent-encoded query with f, in
// order, joined by spaces.
func eachValue(raw string, f func(k, v string) string) string {
	var out []string
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		out = append(out, f(k, v))
	}
	return strings.Join(out, " ")
}

// Reports records what a provider's callbacks reported.
type Reports struct {
	Deliveries []Delivery
	Inbound    []Inbound
	// Err, when set, is what storing fails with (the provider must ask
	// for a retry).
	Err error
}

// Delivery is one delivery report as handed to the outbox.
type Delivery struct {
	ProviderID string
	State      huduma.MessageStatus
	Final      bool
	Reason     string
}

// Inbound is one text someone sent.
type Inbound struct {
	ID   string
	From huduma.MSISDN
	Text string
}

// Receive implements providers.SMSReports.
func (r *Reports) Receive(_ context.Context, id string, from huduma.MSISDN, text string) error {
	if r.Err != nil {
		return r.Err
	}
	r.Inbound = append(r.Inbound, Inbound{id, from, text})
	return nil
}

// Delivered implements providers.SMSReports.
func (r *Reports) Delivered(_ context.Context, id string, state huduma.MessageStatus, final bool, reason string) error {
	if r.Err != nil {
		return r.Err
	}
	r.Deliveries = append(r.Deliveries, Delivery{id, state, final, reason})
	return nil
}

// CallbackCase is one callback a provider sends us and what it reports.
type CallbackCase struct {
	Label   string
	Method  string
	Path    string
	Request providers.Request
	// Status is our answer's status.
	Status int
	// Delivery or Inbound is what must have been reported (nil: nothing).
	Delivery *Delivery
	Inbound  *Inbound
	// ReasonHas is a piece of the delivery's reason (its Reason is not
	// compared exactly when set).
	ReasonHas string
}

// RunCallbacks runs a provider's callback table through its routes (as
// the edge would call them), and checks that a failure to store the
// report is answered 5xx so the provider retries.
func RunCallbacks(t *testing.T, routes func(providers.SMSReports) []providers.Route, cases []CallbackCase) {
	t.Helper()
	find := func(rs []providers.Route, method, path string) providers.Route {
		for _, r := range rs {
			if r.Method == method && r.Path == path {
				return r
			}
		}
		t.Fatalf("no route %s %s", method, path)
		return providers.Route{}
	}
	for _, tc := range cases {
		t.Run(tc.Label, func(t *testing.T) {
			rep := &Reports{}
			resp := find(routes(rep), tc.Method, tc.Path).Handle(context.Background(), tc.Request)
			if resp.Status != tc.Status {
				t.Fatalf("answered %d %q, want %d", resp.Status, resp.Body, tc.Status)
			}
			switch {
			case tc.Delivery != nil:
				if len(rep.Deliveries) != 1 {
					t.Fatalf("%d delivery reports, want 1", len(rep.Deliveries))
				}
				got, want := rep.Deliveries[0], *tc.Delivery
				if tc.ReasonHas != "" {
					if !strings.Contains(got.Reason, tc.ReasonHas) {
						t.Fatalf("reason %q, want containing %q", got.Reason, tc.ReasonHas)
					}
					got.Reason, want.Reason = "", ""
				}
				if got != want {
					t.Fatalf("reported %+v, want %+v", got, want)
				}
			case tc.Inbound != nil:
				if len(rep.Inbound) != 1 || rep.Inbound[0] != *tc.Inbound {
					t.Fatalf("inbound %+v, want %+v", rep.Inbound, *tc.Inbound)
				}
			default:
				if len(rep.Deliveries)+len(rep.Inbound) != 0 {
					t.Fatalf("reported %+v %+v, want nothing", rep.Deliveries, rep.Inbound)
				}
			}
			if tc.Status == http.StatusOK {
				failing := &Reports{Err: errors.New("database down")}
				if resp := find(routes(failing), tc.Method, tc.Path).Handle(context.Background(), tc.Request); resp.Status < 500 {
					t.Fatalf("a report that cannot be stored answered %d, want 5xx so the provider retries", resp.Status)
				}
			}
		})
	}
}
