package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/metrics"
	"github.com/huduma-ke/huduma/providers"
	_ "github.com/huduma-ke/huduma/providers/hubtel"
)

// lockedBuffer is a log sink the server's goroutines may write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the JSON log lines whose message starts with msg.
func (l *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if s, _ := m["msg"].(string); strings.HasPrefix(s, msg) {
			out = append(out, m)
		}
	}
	return out
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveOnLoopback runs s on a loopback port until the test ends.
func serveOnLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, so the server sees another source.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestUnreadableHopShowsEnd: a hop that cannot be read, whatever the
// reason (missing fields, a path too long, a body over the limit that
// the framework refuses before any handler), is answered 200 with the
// END text, so Africa's Talking shows our words instead of ending the
// session on a 4xx; the reason is logged and the hop counted as
// invalid_request. Hubtel-style JSON gets a Release with the same words.
func TestUnreadableHopShowsEnd(t *testing.T) {
	logs := &lockedBuffer{}
	hops := &fakeHops{}
	s := New(Config{CallbackToken: token}, Deps{Hops: hops, Events: &fakeEvents{}, Metrics: metrics.New(metrics.Options{})},
		slog.New(slog.NewJSONHandler(logs, nil)))
	base := serveOnLoopback(t, s)
	long := url.Values{}
	for k, v := range goodHop {
		long[k] = v
	}
	long.Set("text", strings.Repeat("1*", 2500))
	cases := []struct {
		label  string
		form   url.Values
		reason string
	}{
		{"no session id", url.Values{"text": {"1"}, "phoneNumber": {"+254712345678"}}, "sessionId is missing"},
		{"a path of 5000 bytes", long, "text is longer than"},
		{"not a Kenyan mobile", url.Values{"sessionId": {"ATUid_x"}, "phoneNumber": {"+14155550100"}, "text": {""}}, "Kenyan"},
		{"a body over 64 KB", url.Values{"sessionId": {"ATUid_x"}, "pad": {strings.Repeat("a", 70000)}}, "request entity too large"},
	}
	for _, tc := range cases {
		post := http.PostForm
		if tc.reason == "request entity too large" {
			post = postWhileRefused
		}
		resp, err := post(base+"/ussd/africastalking?token="+token, tc.form)
		if err != nil {
			t.Fatalf("%s: %v", tc.label, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" || string(body) != "END Sorry, we could not read that request." {
			t.Errorf("%s: %d %q %q, want 200 text/plain with the END text", tc.label, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		found := false
		for _, l := range logs.lines(t, "bad ussd request") {
			found = found || strings.Contains(l["error"].(string), tc.reason)
		}
		if !found {
			t.Errorf("%s: no log line gives the reason %q:\n%s", tc.label, tc.reason, logs)
		}
	}
	if hops.calls != 0 {
		t.Fatalf("an unreadable hop reached the engine %d times", hops.calls)
	}
	if m := scrape(t, base); !strings.Contains(m, `huduma_ussd_hops_total{outcome="invalid_request",provider="africastalking",screen=""} 4`) {
		t.Errorf("unreadable hops not counted as invalid_request:\n%s", grepLines(m, "huduma_ussd_hops_total"))
	}
	// The framework's refusal still checks the token first.
	resp, err := http.PostForm(base+"/ussd/africastalking?token=nope", url.Values{"pad": {strings.Repeat("a", 70000)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a body over the limit with a wrong token: %d, want 403", resp.StatusCode)
	}
	// Hubtel-style JSON: the same words in a Release, as 200.
	resp, err = http.Post(base+"/ussd/hubtel?token="+token, "application/json", strings.NewReader(`{"Type":"Response"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Release"`) || !strings.Contains(string(body), "could not read") {
		t.Errorf("hubtel: %d %s, want 200 with a Release that says so", resp.StatusCode, body)
	}
}

// TestRefusedCallbacksAreLogged: a callback refused for its token is
// counted as rejected/unauthorized on every route (USSD hops included),
// and logged once per route and source a minute, with what was wrong
// and how many were refused quietly since, and never the token sent or
// the one expected.
func TestRefusedCallbacksAreLogged(t *testing.T) {
	logs := &lockedBuffer{}
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := New(Config{CallbackToken: token}, Deps{Hops: &fakeHops{}, Events: &fakeEvents{}, Metrics: metrics.New(metrics.Options{})},
		slog.New(slog.NewJSONHandler(logs, nil)))
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	stored := 0
	s.Mount(providers.Route{Name: "c2b_confirmation", Method: http.MethodPost, Path: "/payments/c2b/confirmation",
		Handle: func(context.Context, providers.Request) providers.Response {
			stored++
			return providers.Response{Status: 200}
		}})
	base := serveOnLoopback(t, s)
	const sent = "wrong-token-sent-by-the-aggregator"
	send := func(client *http.Client, path, query string, header http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path+query, strings.NewReader(goodHop.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("%s%s: %d, want 403", path, query, resp.StatusCode)
		}
	}
	a, b := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	// Five refusals on the hop route from one source: one line.
	send(a, "/ussd/africastalking", "", nil)
	send(a, "/ussd/africastalking", "?token=", nil)
	send(a, "/ussd/africastalking", "?token="+sent, nil)
	send(a, "/ussd/africastalking", "", http.Header{"Authorization": {"Bearer " + token}})
	send(a, "/ussd/africastalking", "?token="+token[:len(token)-1], nil)
	// Another source, and another route: a line each.
	send(b, "/ussd/africastalking", "?token="+sent, nil)
	send(a, "/payments/c2b/confirmation", "?token="+strings.ToUpper(token), nil)
	send(a, "/payments/c2b/confirmation", "", nil)
	refused := logs.lines(t, "callback refused")
	type seen struct{ route, source, reason string }
	var got []seen
	for _, l := range refused {
		got = append(got, seen{l["route"].(string), l["source"].(string), l["reason"].(string)})
	}
	want := []seen{{"/ussd/africastalking", "127.0.0.1", "no token in the URL"}, {"/ussd/africastalking", "127.0.0.2", "wrong token"},
		{"/payments/c2b/confirmation", "127.0.0.1", "wrong token"}}
	if len(got) != len(want) {
		t.Fatalf("refusal lines %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("refusal line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if stored != 0 {
		t.Fatalf("a refused callback reached its handler %d times", stored)
	}
	m := scrape(t, base)
	for _, w := range []string{`huduma_callbacks_total{outcome="rejected",reason="unauthorized",route="ussd"} 6`,
		`huduma_callbacks_total{outcome="rejected",reason="unauthorized",route="c2b_confirmation"} 2`} {
		if !strings.Contains(m, w) {
			t.Errorf("metrics lack %s:\n%s", w, grepLines(m, "huduma_callbacks_total"))
		}
	}
	// A minute on, the next refusal is logged again with the count of the
	// quiet ones; a token in a header is named as the mistake.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	send(a, "/ussd/africastalking", "", http.Header{"X-Token": {token}})
	refused = logs.lines(t, "callback refused")
	last := refused[len(refused)-1]
	if last["route"] != "/ussd/africastalking" || last["refused_quietly_since"] != float64(4) || !strings.Contains(last["reason"].(string), "X-Token header") {
		t.Fatalf("after a minute: %v, want the hop route again with 4 refused quietly and the header named", last)
	}
	for _, secret := range []string{token, sent, strings.ToUpper(token), token[:len(token)-1]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a token reached the log:\n%s", logs)
		}
	}
}

// TestRefusalLogStaysSmall: a flood from more sources than the log keeps
// shares one key per route, and the keys of a past window are dropped.
func TestRefusalLogStaysSmall(t *testing.T) {
	l := newRefusalLog(time.Minute, 3)
	t0 := time.Now()
	for i, src := range []string{"a", "b", "c"} {
		if ok, _ := l.allow("/r", src, t0); !ok {
			t.Fatalf("source %d not logged", i)
		}
	}
	if ok, _ := l.allow("/r", "d", t0); !ok {
		t.Fatal("the first of the sources beyond the limit not logged")
	}
	if ok, _ := l.allow("/r", "e", t0); ok {
		t.Fatal("a second source beyond the limit logged within the minute")
	}
	if len(l.seen) > 4 {
		t.Fatalf("%d keys kept, want at most 4", len(l.seen))
	}
	if ok, _ := l.allow("/r", "f", t0.Add(time.Minute)); !ok || len(l.seen) != 1 {
		t.Fatalf("after the window: logged %v with %d keys, want a fresh line and the old keys gone", ok, len(l.seen))
	}
}

// TestReadinessSaysSimulatedAndMetricsMayMove: /readyz names what the
// gateway fakes, and /metrics leaves the server when it is served on a
// listener of its own.
func TestReadinessSaysSimulatedAndMetricsMayMove(t *testing.T) {
	s := New(Config{Simulated: []string{"payments", "sms"}, MetricsElsewhere: true}, Deps{Hops: &fakeHops{},
		Pingers: map[string]Pinger{"database": pinger{}}, Metrics: metrics.New(metrics.Options{})}, slog.New(slog.DiscardHandler))
	base := serveOnLoopback(t, s)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready     bool     `json:"ready"`
		Simulated []string `json:"simulated"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || !ready.Ready || strings.Join(ready.Simulated, ",") != "payments,sms" {
		t.Fatalf("readyz: %+v %v, want ready and simulated payments,sms", ready, err)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/metrics on the main server: %d, want 404", resp.StatusCode)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// postWhileRefused posts form over a connection of its own and reads the
// answer whether or not the body could be written in full: the server
// answers a body over the limit as soon as it has read the headers and
// closes the connection, so a client still writing the body may meet a
// broken pipe before it reads that answer (net/http's client then
// reports the write error, depending on timing).
func postWhileRefused(rawURL string, form url.Values) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	body := form.Encode()
	go func() {
		// Write errors are expected once the server has answered.
		_, _ = io.WriteString(conn, "POST "+u.RequestURI()+" HTTP/1.1\r\nHost: "+u.Host+
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(body))+
			"\r\nConnection: close\r\n\r\n"+body)
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	// The caller reads the body, then closes it, which closes conn.
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, conn}
	return resp, nil
}
