package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/metrics"
	_ "github.com/huduma-ke/huduma/providers/africastalking"
)

// fakeHops records calls and answers with a fixed reply, error or panic.
type fakeHops struct {
	calls int
	reply huduma.Reply
	err   error
	panic bool
}

func (f *fakeHops) HandleHop(_ context.Context, hop huduma.Hop) (huduma.Reply, error) {
	f.calls++
	if f.panic {
		panic("boom")
	}
	return f.reply, f.err
}

type fakeEvents struct {
	got []huduma.SessionEvent
	err error
}

func (f *fakeEvents) RecordSessionEvent(_ context.Context, e huduma.SessionEvent) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, e)
	return nil
}

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

const token = "callback-token-0123456789"

var goodHop = url.Values{"sessionId": {"ATUid_1"}, "serviceCode": {"*2222#"}, "phoneNumber": {"+254712345678"}, "networkCode": {"63902"}, "text": {""}}

func post(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestEdge(t *testing.T) {
	long := url.Values{}
	for k, v := range goodHop {
		long[k] = v
	}
	long.Set("text", strings.Repeat("1*", 2500))
	cases := []struct {
		label    string
		hops     *fakeHops
		events   *fakeEvents
		pingErr  error
		req      *http.Request
		status   int
		body     string
		called   int
		recorded int
	}{
		{label: "good hop", hops: &fakeHops{reply: huduma.Reply{Text: "eCitizen *2222#\n1. Find a service", Screen: "main"}},
			req: post("/ussd/africastalking?token="+token, goodHop), status: 200, body: "CON eCitizen *2222#\n1. Find a service", called: 1},
		{label: "end hop", hops: &fakeHops{reply: huduma.Reply{Text: "Bye", End: true}},
			req: post("/ussd/africastalking?token="+token, goodHop), status: 200, body: "END Bye", called: 1},
		{label: "missing token", hops: &fakeHops{}, req: post("/ussd/africastalking", goodHop), status: 403, body: "forbidden"},
		{label: "wrong token", hops: &fakeHops{}, req: post("/ussd/africastalking?token=nope", goodHop), status: 403, body: "forbidden"},
		{label: "bad form", hops: &fakeHops{}, req: post("/ussd/africastalking?token="+token, url.Values{"text": {"1"}}),
			status: 200, body: "END Sorry, we could not read that request."},
		{label: "5000-char text", hops: &fakeHops{}, req: post("/ussd/africastalking?token="+token, long), status: 200, body: "END Sorry, we could not read that request."},
		{label: "domain error", hops: &fakeHops{err: errors.New("redis down")}, req: post("/ussd/africastalking?token="+token, goodHop),
			status: 200, body: "END Sorry, the service is busy. Please try again.", called: 1},
		{label: "domain panic", hops: &fakeHops{panic: true}, req: post("/ussd/africastalking?token="+token, goodHop),
			status: 200, body: "END Sorry, the service is busy", called: 1},
		{label: "event recorded", hops: &fakeHops{}, events: &fakeEvents{},
			req:    post("/ussd/africastalking/events?token="+token, url.Values{"sessionId": {"ATUid_1"}, "status": {"Success"}}),
			status: 200, body: "OK", recorded: 1},
		{label: "event store fails", hops: &fakeHops{}, events: &fakeEvents{err: errors.New("db down")},
			req:    post("/ussd/africastalking/events?token="+token, url.Values{"sessionId": {"ATUid_1"}}),
			status: 500, body: "try again"},
		{label: "event without token", hops: &fakeHops{}, events: &fakeEvents{},
			req: post("/ussd/africastalking/events", url.Values{"sessionId": {"ATUid_1"}}), status: 403},
		{label: "healthz", hops: &fakeHops{}, req: httptest.NewRequest("GET", "/healthz", nil), status: 200, body: "ok"},
		{label: "ready", hops: &fakeHops{}, req: httptest.NewRequest("GET", "/readyz", nil), status: 200, body: `"database":"ok"`},
		{label: "not ready", hops: &fakeHops{}, pingErr: errors.New("down"), req: httptest.NewRequest("GET", "/readyz", nil),
			status: 503, body: `"database":"unavailable"`},
		{label: "unknown route", hops: &fakeHops{}, req: httptest.NewRequest("GET", "/nope", nil), status: 404},
		{label: "body too large, not a hop", hops: &fakeHops{}, req: post("/ussd/africastalking/events?token="+token, url.Values{"x": {strings.Repeat("a", 70000)}}), status: 413},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			ev := tc.events
			if ev == nil {
				ev = &fakeEvents{}
			}
			s := New(Config{CallbackToken: token}, Deps{Hops: tc.hops, Events: ev,
				Pingers: map[string]Pinger{"database": pinger{tc.pingErr}, "sessions": pinger{}}},
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			resp, err := s.App().Test(tc.req, -1)
			if err != nil && tc.status == 413 && strings.Contains(err.Error(), "body size") {
				return // fasthttp refuses the body before any handler runs
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.hops.calls != tc.called {
				t.Fatalf("hop handler called %d times, want %d", tc.hops.calls, tc.called)
			}
			if len(ev.got) != tc.recorded {
				t.Fatalf("events recorded %d, want %d", len(ev.got), tc.recorded)
			}
			if strings.HasPrefix(tc.req.URL.Path, "/ussd/") && tc.status == 200 && resp.Header.Get("Content-Type") != "text/plain" {
				t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestMetricsCountHops(t *testing.T) {
	s := New(Config{}, Deps{Hops: &fakeHops{reply: huduma.Reply{Text: "x", Screen: "main"}}, Events: &fakeEvents{}, Metrics: metrics.New(metrics.Options{})},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := s.App().Test(post("/ussd/africastalking", goodHop), -1); err != nil {
		t.Fatal(err)
	}
	resp, err := s.App().Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`huduma_ussd_hops_total{outcome="ok",provider="africastalking",screen="main"} 1`, "huduma_ussd_hop_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}

// TestOpenAPICoversRoutes keeps web/openapi.json honest: every API route
// mounted is documented with its method, and nothing documented is missing.
func TestOpenAPICoversRoutes(t *testing.T) {
	s := New(Config{}, Deps{Hops: &fakeHops{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountAPI(&financeAgency{checkAgency: &checkAgency{t: t}}, []APIKey{{Key: "key-key-key-key-key"}}) // with the finance routes
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" /api/v1"+path] = true
		}
	}
	mounted := map[string]bool{}
	param := regexp.MustCompile(`:([a-z]+)`)
	for _, r := range s.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" || r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		mounted[key] = true
		if !documented[key] {
			t.Errorf("%s is served but not in openapi.json", key)
		}
	}
	for key := range documented {
		if !mounted[key] {
			t.Errorf("%s is in openapi.json but not served", key)
		}
	}
	if len(mounted) < 11 {
		t.Fatalf("only %d API routes found: %v", len(mounted), mounted)
	}
}

// TestRateLimits: a phone over its hop rate gets a clean END and never
// reaches the engine; an API key over its rate gets 429 with Retry-After;
// others are not affected.
func TestRateLimits(t *testing.T) {
	hops := &fakeHops{reply: huduma.Reply{Text: "menu", Screen: "main"}}
	s := New(Config{HopsPerMinute: 60, HopBurst: 3, APIPerMinute: 60, APIBurst: 2}, Deps{Hops: hops, Events: &fakeEvents{}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountAPI(&checkAgency{t: t}, []APIKey{{Key: "key-one-key-one-key"}, {Key: "key-two-key-two-key"}})
	hop := func(phone string) string {
		form := url.Values{}
		for k, v := range goodHop {
			form[k] = v
		}
		form.Set("phoneNumber", phone)
		resp, err := s.App().Test(post("/ussd/africastalking", form), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("hop: %d", resp.StatusCode)
		}
		return string(b)
	}
	for i := 0; i < 3; i++ {
		if got := hop("+254712345678"); got != "CON menu" {
			t.Fatalf("hop %d: %q", i, got)
		}
	}
	if got := hop("0712345678"); !strings.HasPrefix(got, "END Too many requests") {
		t.Fatalf("fourth hop at once: %q", got)
	}
	if hops.calls != 3 {
		t.Fatalf("the engine saw %d hops, want 3", hops.calls)
	}
	if got := hop("+254722000000"); got != "CON menu" {
		t.Fatalf("another phone: %q", got)
	}

	call := func(key string) *http.Response {
		req := httptest.NewRequest("GET", "/api/v1/services?q=passport", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := 0; i < 2; i++ {
		if r := call("key-one-key-one-key"); r.StatusCode != 200 {
			t.Fatalf("call %d: %d", i, r.StatusCode)
		}
	}
	r := call("key-one-key-one-key")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("third call at once: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := call("key-two-key-two-key"); r.StatusCode != 200 {
		t.Fatalf("another key: %d", r.StatusCode)
	}
	// A wrong key is refused before it can use anyone's budget.
	if r := call("wrong-wrong-wrong-wrong"); r.StatusCode != 401 {
		t.Fatalf("wrong key: %d", r.StatusCode)
	}
}

// slowHops answers after a pause, like a hop behind a slow database.
type slowHops struct{ pause time.Duration }

func (s slowHops) HandleHop(ctx context.Context, hop huduma.Hop) (huduma.Reply, error) {
	select {
	case <-time.After(s.pause):
		return huduma.Reply{Text: "Invoice 1234567894\nTotal KES 55", End: true}, nil
	case <-ctx.Done():
		return huduma.Reply{}, ctx.Err()
	}
}

type lateBox struct {
	mu  sync.Mutex
	got []huduma.Reply
	to  []huduma.MSISDN
}

func (l *lateBox) Late(_ context.Context, hop huduma.Hop, r huduma.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got, l.to = append(l.got, r), append(l.to, hop.MSISDN)
	return nil
}

// TestHopDeadline: a hop slower than the deadline gets the late END in
// time, and its screen reaches the caller afterwards through Late; a fast
// hop is untouched.
func TestHopDeadline(t *testing.T) {
	late := &lateBox{}
	s := New(Config{HopTimeout: 100 * time.Millisecond}, Deps{Hops: slowHops{pause: 400 * time.Millisecond}, Events: &fakeEvents{}, Late: late},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	resp, err := s.App().Test(post("/ussd/africastalking", goodHop), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "END ") || !strings.Contains(string(b), "by SMS") {
		t.Fatalf("late hop: %d %q", resp.StatusCode, b)
	}
	if len(late.got) != 0 {
		t.Fatal("texted before the work finished")
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		late.mu.Lock()
		n := len(late.got)
		late.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late result was never texted")
		}
	}
	if late.got[0].Text != "Invoice 1234567894\nTotal KES 55" || late.to[0] != "+254712345678" {
		t.Fatalf("texted %+v to %v", late.got, late.to)
	}
	fast := New(Config{HopTimeout: time.Second}, Deps{Hops: slowHops{pause: 10 * time.Millisecond}, Events: &fakeEvents{}, Late: late},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	resp, _ = fast.App().Test(post("/ussd/africastalking", goodHop), -1)
	if b, _ := io.ReadAll(resp.Body); !strings.HasPrefix(string(b), "END Invoice 1234567894") {
		t.Fatalf("fast hop: %q", b)
	}
}

// TestEdgeRepliesInCallersLanguage: the edge's own replies (slow down,
// busy) speak the language the phone's last screen was in; a phone it
// has not served yet gets the configured default.
func TestEdgeRepliesInCallersLanguage(t *testing.T) {
	hops := &fakeHops{reply: huduma.Reply{Text: "menyu", Screen: "main", Lang: huduma.Kiswahili}}
	s := New(Config{HopsPerMinute: 60, HopBurst: 1, DefaultLanguage: huduma.English}, Deps{Hops: hops, Events: &fakeEvents{}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	hop := func(phone string) string {
		form := url.Values{}
		for k, v := range goodHop {
			form[k] = v
		}
		form.Set("phoneNumber", phone)
		resp, err := s.App().Test(post("/ussd/africastalking", form), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := hop("+254712345678"); got != "CON menyu" {
		t.Fatalf("first hop: %q", got)
	}
	if got := hop("+254712345678"); !strings.HasPrefix(got, "END Maombi mengi mno") {
		t.Fatalf("slow-down to a Kiswahili phone: %q", got)
	}
	hops.err = errors.New("backend down")
	if got := hop("+254722000001"); !strings.HasPrefix(got, "END Sorry, the service is busy") {
		t.Fatalf("busy to an unknown phone: %q", got)
	}
	s2 := New(Config{DefaultLanguage: huduma.Kiswahili}, Deps{Hops: hops, Events: &fakeEvents{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	resp, _ := s2.App().Test(post("/ussd/africastalking", goodHop), -1)
	if b, _ := io.ReadAll(resp.Body); !strings.HasPrefix(string(b), "END Samahani") {
		t.Fatalf("busy with Kiswahili as the default: %q", b)
	}
}
