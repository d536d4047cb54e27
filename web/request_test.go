package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// formCases are bodies for parseForm against url.ParseQuery: the hop
// forms, and every way a pair can be odd.
var formCases = []string{
	"",
	"sessionId=ATUid_1&serviceCode=%2A2222%23&phoneNumber=%2B254712345678&networkCode=63902&text=",
	"text=1%2A2&text=3&sessionId=x&text=4",
	"a=1&b=2&a=3&c&d=&=e&&",
	"a=1;b=2&c=3",
	"a=%zz&b=2&%G1=3&c=%41",
	"a+b=c+d&e=f%20g",
	"=&==&a==b",
	"&&&",
	"k=" + strings.Repeat("v", 1000),
	strings.Repeat("a=1&", 70),
	strings.Repeat("k=v&", maxQuickForm-1) + "k=last",
	"ü=é&%C3%BC=%C3%A9",
	"%&a=%4&b=%4g&%41%42=%43+d",
	"%41=%zz&b=%42&%41=x",
	"k=" + strings.Repeat("%41+", 200) + "&k2=%42",
}

// TestParseFormIsParseQuery: the edge's form parser keeps and skips
// exactly the pairs url.ParseQuery does.
func TestParseFormIsParseQuery(t *testing.T) {
	for _, body := range formCases {
		checkParseForm(t, body)
	}
}

func checkParseForm(t *testing.T, body string) {
	t.Helper()
	want, _ := url.ParseQuery(body)
	got := parseForm(body)
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseForm(%q) = %v, want %v", body, got, want)
	}
}

// FuzzParseForm: the same for any body.
func FuzzParseForm(f *testing.F) {
	for _, body := range formCases {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) { checkParseForm(t, body) })
}

// hopForm is an Africa's Talking hop's body.
const hopForm = "sessionId=ATUid_0f1e2d3c4b5a69788796a5b4c3d2e1f0&serviceCode=%2A2222%23&phoneNumber=%2B254712345678&networkCode=63902&text=1%2A2"

// formSink keeps the benchmarks' forms, so they are made as in a hop.
var formSink url.Values

// BenchmarkParseForm is the edge's form parser on a hop's body;
// BenchmarkParseQuery is url.ParseQuery on the same, for comparison.
func BenchmarkParseForm(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		formSink = parseForm(hopForm)
	}
}

func BenchmarkParseQuery(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		formSink, _ = url.ParseQuery(hopForm)
	}
}

// headerUSSD is a provider whose DecodeHop reads a header it names, and
// records the request it got.
type headerUSSD struct{ got *providers.Request }

func (headerUSSD) Name() string         { return "hdr" }
func (headerUSSD) HopHeaders() []string { return []string{"x-signature"} }
func (h headerUSSD) EncodeError(error) providers.Response {
	return providers.Response{Status: 400}
}
func (h headerUSSD) EncodeReply(r huduma.Reply) providers.Response { return providers.ConEnd(r) }
func (h headerUSSD) DecodeHop(r providers.Request) (huduma.Hop, error) {
	*h.got = r
	return huduma.Hop{Provider: "hdr", SessionID: r.Form.Get("s"), MSISDN: "+254712345678"}, nil
}

// TestHopGetsOnlyNamedHeaders: a hop's Request carries the query (less
// the token), the form, the body and only the headers its provider names
// (all their values); a provider that names none gets none, and a
// callback gets every header.
func TestHopGetsOnlyNamedHeaders(t *testing.T) {
	var got providers.Request
	s := New(Config{CallbackToken: token}, Deps{USSD: []providers.USSD{headerUSSD{&got}}, Hops: &fakeHops{reply: huduma.Reply{Text: "hi"}}, Events: &fakeEvents{}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	var cb providers.Request
	s.Callback(http.MethodPost, "/cb", func(_ context.Context, r providers.Request) providers.Response {
		cb = r
		return providers.Response{Status: 200}
	})
	req := post("/ussd/hdr?token="+token+"&q=1", url.Values{"s": {"S1"}})
	req.Header.Add("X-Signature", "a")
	req.Header.Add("X-Signature", "b")
	req.Header.Set("X-Other", "c")
	if resp, err := s.App().Test(req, -1); err != nil || resp.StatusCode != 200 {
		t.Fatalf("hop: %v %v", resp, err)
	}
	if !reflect.DeepEqual(got.Header, http.Header{"X-Signature": {"a", "b"}}) {
		t.Fatalf("hop headers %v, want only X-Signature's two", got.Header)
	}
	if !reflect.DeepEqual(got.Query, url.Values{"q": {"1"}}) || got.Form.Get("s") != "S1" || string(got.Body) != "s=S1" || got.Method != http.MethodPost {
		t.Fatalf("hop request %+v", got)
	}
	req = post("/cb?token="+token, url.Values{"s": {"S1"}})
	req.Header.Set("X-Other", "c")
	if resp, err := s.App().Test(req, -1); err != nil || resp.StatusCode != 200 {
		t.Fatalf("callback: %v %v", resp, err)
	}
	if cb.Header.Get("X-Other") != "c" || cb.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || cb.Query != nil {
		t.Fatalf("callback request %+v", cb)
	}
	if h := hopHeaders(providers.LookupUSSD("africastalking")); h.all || len(h.names) != 0 {
		t.Fatalf("africastalking's hops get headers %+v, want none", h)
	}
}
