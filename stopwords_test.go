package huduma

import "testing"

// TestKeyWords: results are titled by the query less the stop words it
// starts and ends with; stop words alone are the title as typed.
func TestKeyWords(t *testing.T) {
	for q, want := range map[string]string{
		"I need a passport":                           "passport",
		"How do I get a certificate of good conduct?": "certificate of good conduct?",
		"nataka cheti cha kuzaliwa":                   "cheti cha kuzaliwa",
		"I'm looking for a passport, please":          "passport,",
		"pasport":                                     "pasport",
		"how to":                                      "how to",
		"Jinsi ya":                                    "Jinsi ya",
	} {
		if got := KeyWords(q); got != want {
			t.Errorf("KeyWords(%q) = %q, want %q", q, got, want)
		}
	}
	for _, w := range []string{"search", "help", "new", "child", "passport", "cheti"} {
		if StopWord(w) {
			t.Errorf("%q tells services apart; it is no stop word", w)
		}
	}
}
