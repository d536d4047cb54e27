package web

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
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
