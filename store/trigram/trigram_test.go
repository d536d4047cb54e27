package trigram

import "testing"

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
