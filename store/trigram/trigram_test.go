package trigram

import (
	"fmt"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
)

func TestWordSimilarity(t *testing.T) {
	cases := []struct {
		q, name string
		lo, hi  float64
	}{
		{"passport", "Passport 34 pages", 1, 1},
		{"pasport", "Passport 34 pages", 0.8, 0.95},
		{"birth cert", "Birth certificate", 1, 1},
		{"leseni", "Leseni ya udereva", 1, 1},
		{"driving license", "Driving licence renewal", 0.7, 0.95},
		{"zzzz", "Passport", 0, 0.2},
		{"", "Passport", 0, 0},
		{"CAFÉ", "cafe", 1, 1},
	}
	for _, c := range cases {
		got := WordSimilarity(c.q, c.name)
		if got < c.lo || got > c.hi {
			t.Errorf("WordSimilarity(%q, %q) = %.3f, want %.2f..%.2f", c.q, c.name, got, c.lo, c.hi)
		}
	}
	if n := Normalize("  Hello,  WORLD!! é "); n != "hello world e" {
		t.Errorf("Normalize = %q", n)
	}
}

// TestIndexRepeatsAnswers: the pooled scratch is cleared after each
// search, so the same query answers the same however many came before.
func TestIndexRepeatsAnswers(t *testing.T) {
	svcs := []huduma.Service{{Code: 1, NameEN: "Passport 34 pages"}, {Code: 2, NameEN: "Birth certificate"},
		{Code: 3, NameEN: "Passport replacement"}, {Code: 4, NameEN: "Certificate of good conduct"}}
	x := NewIndex(1, svcs)
	first := fmt.Sprint(x.Search("passport", 10))
	for _, q := range []string{"certificate", "birth", "pasport", "conduct", "xyz", "4", "passport certificate"} {
		x.Search(q, 10)
	}
	if again := fmt.Sprint(x.Search("passport", 10)); again != first || !strings.Contains(first, "Passport 34") {
		t.Fatalf("first %s, again %s", first, again)
	}
	if sv, ok := x.ByCode(4); !ok || sv.NameEN != "Certificate of good conduct" {
		t.Fatal("ByCode")
	}
	if got := x.Search("4", 10); len(got) != 1 || got[0].Code != 4 {
		t.Fatalf("code search %v", got)
	}
}

// TestIndexPoolMatchesFresh runs many queries through one index and checks
// each against a fresh index that never reused scratch memory.
func TestIndexPoolMatchesFresh(t *testing.T) {
	words := []string{"passport", "birth", "certificate", "licence", "driving", "land", "search", "business", "name", "police",
		"clearance", "marriage", "renewal", "replacement", "permit", "vehicle", "transfer", "copy", "late", "registration"}
	var svcs []huduma.Service
	for i := 0; i < 600; i++ {
		name := words[i%20] + " " + words[(i/20)%20] + " " + words[(i*7)%20]
		svcs = append(svcs, huduma.Service{Code: 1000 + i, NameEN: name})
	}
	x := NewIndex(1, svcs)
	for i := 0; i < 300; i++ {
		q := words[(i*3)%20] + " " + words[(i*11)%20][:4]
		if i%3 == 0 {
			q = words[i%20]
		}
		got, want := fmt.Sprint(x.Search(q, 8)), fmt.Sprint(NewIndex(1, svcs).Search(q, 8))
		if got != want {
			t.Fatalf("query %d %q: pooled %s, fresh %s", i, q, got, want)
		}
	}
}
