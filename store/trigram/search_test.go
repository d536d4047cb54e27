package trigram

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/catalog"
)

// sameAnswer checks the index answers q as the reference does: the same
// services in the same order with the same scores, to the bit.
func sameAnswer(t *testing.T, x *Index, ref *refIndex, q string, limit int) {
	t.Helper()
	want, wantScores := ref.search(q, limit)
	got := x.Search(q, limit)
	if (got == nil) != (want == nil) || fmt.Sprint(codesOf(got)) != fmt.Sprint(codesOf(want)) {
		t.Fatalf("Search(%q, %d) = %v (nil %v), reference %v (nil %v)", q, limit, codesOf(got), got == nil, codesOf(want), want == nil)
	}
	for i := range got {
		if got[i].NameEN != want[i].NameEN || got[i].NameSW != want[i].NameSW {
			t.Fatalf("Search(%q, %d)[%d] = %+v, reference %+v", q, limit, i, got[i], want[i])
		}
	}
	sc := x.scratch()
	defer x.pool.Put(sc)
	code, hits := x.find(sc, q, limit)
	if code >= 0 {
		if wantScores != nil {
			t.Fatalf("%q: answered by code, the reference scored it", q)
		}
		return
	}
	if len(hits) != len(wantScores) {
		t.Fatalf("%q: %d scores, reference %d", q, len(hits), len(wantScores))
	}
	for i, h := range hits {
		if h.score != wantScores[i] {
			t.Fatalf("%q: score %d = %v, reference %v", q, i, h.score, wantScores[i])
		}
	}
}

func codesOf(svcs []huduma.Service) []int {
	out := make([]int, len(svcs))
	for i, s := range svcs {
		out[i] = s.Code
	}
	return out
}

// testQueries returns the queries the sameness tests ask: the benchmark
// mix, the conformance suite's, and n more made from the catalog's own
// words (single, several, and with typos: deleted, swapped, doubled and
// changed letters), plus the awkward inputs: one and two letters, codes,
// punctuation, accents, other scripts, broken UTF-8, the empty query and
// queries long enough for more than 64 trigrams and for the 100-byte cut
// to land inside a letter.
func testQueries(svcs []huduma.Service, n int, seed uint64) []string {
	qs := append(catalog.SearchQueries(),
		"passport", "pasport", "PASSPORT 34", "birth cert", "driving licence", "driving license", "leseni",
		"cheti cha kuzaliwa", "land serch", "good conduct", "2003", "xqzvw", "   ", "", "retired", "firearm",
		strings.Repeat("passport ", 40), strings.Repeat("pasport ", 12)+"renewal",
		"a", "p", "x", "1", "9", "ya", "la", "pa", "cha", "ce", "42", "4 2", "wa ya la",
		"kibali cha kutoa", "uchimbaji madini", "duka la dawa", "kituo cha afya", "usafirishaji nje", "ya muda", "ya mwaka",
		"Leseni ya biashara Nairobi 42", "Business licence Nairobi 42", "kibali ya", "cheti cha",
		"100042", " 100042 ", "+100042", "-5", "007", "0", "99999999999999999999999", "1000001", "3001", "100 042",
		"passport!!", "birth-cert", "land/search", "  LAND   serch  ", "(liquor)", "...", "!!!", "licence, nairobi; 2",
		"pässport", "CAFÉ", "lesení", "Ñairobi", "naïrobi", "ＰＡＳＳＰＯＲＴ", "паспорт", "护照", "한국 여권", "\xff\xfepassport", "pass\x00port",
		strings.Repeat("é", 60), strings.Repeat("ab", 60), "abcdefghijklmnopqrstuvwxyz0123456789 zyxwvutsrqponmlkjihgfedcba9876543210 qwertyuiop",
		"business land vehicle passport liquor fishing water mining building school pharmacy export import marriage birth",
	)
	var words []string
	seen := map[string]bool{}
	for _, sv := range svcs {
		for _, w := range strings.Fields(refNormalize(sv.NameEN + " " + sv.NameSW)) {
			if !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
	}
	if len(words) == 0 {
		words = []string{"passport", "leseni"} // an empty catalog still gets word queries
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	typo := func(w string) string {
		r := []rune(w)
		if len(r) < 2 {
			return w + w
		}
		i := rng.IntN(len(r) - 1)
		switch rng.IntN(4) {
		case 0:
			r = append(r[:i], r[i+1:]...)
		case 1:
			r[i], r[i+1] = r[i+1], r[i]
		case 2:
			r = append(r[:i+1], r[i:]...)
		default:
			r[i] = rune('a' + rng.IntN(26))
		}
		return string(r)
	}
	for range n {
		k := 1 + rng.IntN(3)
		var parts []string
		for range k {
			w := words[rng.IntN(len(words))]
			switch rng.IntN(6) {
			case 0, 1:
				w = typo(w)
			case 2:
				w = strings.ToUpper(w[:1]) + w[1:]
			case 3:
				if len(w) > 3 {
					w = w[:3+rng.IntN(len(w)-3)] // a prefix, as typed in a hurry
				}
			}
			parts = append(parts, w)
		}
		qs = append(qs, strings.Join(parts, []string{" ", "  ", ", ", "-"}[rng.IntN(4)]))
	}
	return qs
}

// TestSearchMatchesReference compares the index with the implementation it
// replaced (ref_test.go) on a generated 14,000-service catalog, the
// conformance fixture and a catalog of awkward names.
func TestSearchMatchesReference(t *testing.T) {
	odd := []huduma.Service{{Code: 1, NameEN: "Café licence", NameSW: "Leseni ya mgahawa"}, {Code: 2, NameEN: "Паспорт", NameSW: "护照 申请"},
		{Code: 3, NameEN: "A", NameSW: "ya"}, {Code: 4, NameEN: "", NameSW: ""}, {Code: 5, NameEN: "!!!", NameSW: "---"},
		{Code: 6, NameEN: "aaaa aaaa bbbb", NameSW: "aaaa"}, {Code: 7, NameEN: "Passport passport PASSPORT", NameSW: "pasipoti"},
		{Code: 8, NameEN: "Naïve résumé", NameSW: "42 42"}, {Code: 9, NameEN: "한국 여권", NameSW: "\xff broken"}}
	catalogs := []struct {
		name    string
		svcs    []huduma.Service
		queries int
	}{
		{"generated 14k", catalog.Generate(14000, 1).Services, 400},
		{"fixture", catalog.Fixture().Services, 200},
		{"odd names", odd, 200},
		{"empty", nil, 20},
	}
	if !testing.Short() {
		catalogs = append(catalogs, struct {
			name    string
			svcs    []huduma.Service
			queries int
		}{"generated 140k", catalog.Generate(140000, 2).Services, 60})
	}
	for _, c := range catalogs {
		t.Run(c.name, func(t *testing.T) {
			x, ref := NewIndex(1, c.svcs), newRefIndex(1, c.svcs)
			for i, q := range testQueries(c.svcs, c.queries, uint64(len(c.svcs))) {
				sameAnswer(t, x, ref, q, 30)
				if i%5 == 0 {
					for _, limit := range []int{1, 10, 200, 0, -1} {
						sameAnswer(t, x, ref, q, limit)
					}
				}
			}
		})
	}
}

// TestNormalizeMatchesReference: the ASCII fast path and the reused
// buffers give what NFD and a strings.Builder gave.
func TestNormalizeMatchesReference(t *testing.T) {
	svcs := catalog.Fixture().Services
	for _, q := range testQueries(svcs, 100, 3) {
		if got, want := Normalize(q), refNormalize(q); got != want {
			t.Errorf("Normalize(%q) = %q, reference %q", q, got, want)
		}
		if got, want := Blank(q), refNormalize(q) == ""; got != want {
			t.Errorf("Blank(%q) = %v", q, got)
		}
		for _, sv := range svcs[:5] {
			name := sv.NameEN + " " + sv.NameSW
			if got, want := WordSimilarity(q, name), refWordSimilarity(q, name); got != want {
				t.Errorf("WordSimilarity(%q, %q) = %v, reference %v", q, name, got, want)
			}
		}
	}
}

// TestSearchConcurrent runs searches from several goroutines at once
// (run with -race): the pooled scratch is never shared.
func TestSearchConcurrent(t *testing.T) {
	svcs := catalog.Generate(3000, 5).Services
	x, ref := NewIndex(1, svcs), newRefIndex(1, svcs)
	qs := testQueries(svcs, 100, 9)
	want := make([]string, len(qs))
	for i, q := range qs {
		got, _ := ref.search(q, 20)
		want[i] = fmt.Sprint(codesOf(got))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range qs {
				i := (i + g*len(qs)/4) % len(qs)
				if got := fmt.Sprint(codesOf(x.Search(qs[i], 20))); got != want[i] {
					t.Errorf("%q = %s, reference %s", qs[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzSearchMatchesReference compares the index with the reference on
// any query over a small generated catalog and the fixture.
func FuzzSearchMatchesReference(f *testing.F) {
	svcs := append(catalog.Generate(2000, 3).Services, catalog.Fixture().Services...)
	x, ref := NewIndex(1, svcs), newRefIndex(1, svcs)
	for _, q := range testQueries(svcs, 20, 4) {
		f.Add(q, 30)
	}
	f.Fuzz(func(t *testing.T, q string, limit int) {
		sameAnswer(t, x, ref, q, limit%300)
	})
}
