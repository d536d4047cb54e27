package trigram

import (
	"slices"
	"testing"

	"github.com/huduma-ke/huduma/catalog"
)

// TestSentencesFindWhatTheirWordsFind: a query written as a sentence, in
// English or Kiswahili, finds what its meaningful words find, in the same
// order; on main the English ones found nothing at all. A query of stop
// words alone is still searched as typed.
func TestSentencesFindWhatTheirWordsFind(t *testing.T) {
	sample, err := catalog.Sample()
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(1, sample.Services)
	for _, c := range []struct{ sentence, words string }{
		{"I need a passport", "passport"},
		{"passport for my child", "passport child"},
		{"how to get a birth certificate", "birth certificate"},
		{"How do I get a certificate of good conduct?", "certificate good conduct"},
		{"I'm looking for the driving licence", "driving licence"},
		{"nataka pasipoti", "pasipoti"},
		{"jinsi ya kupata cheti cha kuzaliwa", "cheti kuzaliwa"},
		{"Tafadhali nahitaji leseni ya udereva", "leseni udereva"},
	} {
		got, want := codesOf(x.Search(c.sentence, 30)), codesOf(x.Search(c.words, 30))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%q found %v, %q found %v", c.sentence, got, c.words, want)
		}
	}
	// Stop words alone: searched as typed, as before they were known.
	for q, want := range map[string][]int{"how to": {3002, 4012}, "the": nil} {
		if got := codesOf(x.Search(q, 30)); !slices.Equal(got, want) {
			t.Errorf("%q found %v, want %v", q, got, want)
		}
	}
}

// TestStopWordsSinkNoName: leaving stop words out of queries loses no
// service: each of the sample's services is found by its own name, in
// either language, however many stop words the name holds.
func TestStopWordsSinkNoName(t *testing.T) {
	sample, err := catalog.Sample()
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(1, sample.Services)
	for _, sv := range sample.Services {
		for _, name := range []string{sv.NameEN, sv.NameSW} {
			if !slices.Contains(codesOf(x.Search(name, 30)), sv.Code) {
				t.Errorf("%q does not find service %d", name, sv.Code)
			}
		}
	}
}
