package gsm7

import (
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text 123", "plain text 123"},
		{"Café résumé", "Cafe resume"},
		{"\u201cQuoted\u201d \u2018single\u2019", `"Quoted" 'single'`},
		{"a \u2013 b \u2014 c\u2026", "a - b - c..."},
		{"Pasipoti \U0001F600 ya kawaida", "Pasipoti  ya kawaida"},
		{"[x] {y} a|b ~c \\d ^e", "(x) (y) a/b -c /d e"},
		{"line1\r\nline2\ttab", "line1\nline2 tab"},
		{"Ærø Straße Łódź", "AEro Strasse Lodz"},
		{"fee \u20ac5", "fee EUR5"},
		{"\u0645\u0631\u062d\u0628\u0627", ""},
	}
	for _, c := range cases {
		got := Fold(c.in)
		if got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
		if !Valid(got) {
			t.Errorf("Fold(%q) = %q is not GSM-7", c.in, got)
		}
	}
}

func TestSeptets(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want bool
	}{
		{"abc", 3, true},
		{"a{b}", 6, true},
		{"\u20ac", 2, true},
		{"é", 1, true},
		{"\u201c", 1, false},
		{"\U0001F600", 1, false},
	}
	for _, c := range cases {
		n, ok := Septets(c.in)
		if n != c.n || ok != c.want {
			t.Errorf("Septets(%q) = %d,%v want %d,%v", c.in, n, ok, c.n, c.want)
		}
	}
}

func TestSMSParts(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"", 1},
		{strings.Repeat("a", 160), 1},
		{strings.Repeat("a", 161), 2},
		{strings.Repeat("a", 306), 2},
		{strings.Repeat("a", 307), 3},
		{strings.Repeat("{", 80), 1},
		{strings.Repeat("{", 81), 2},
		{strings.Repeat("\u0645", 70), 1},
		{strings.Repeat("\u0645", 71), 2},
	}
	for _, c := range cases {
		if got := SMSParts(c.in); got != c.want {
			t.Errorf("SMSParts(len %d) = %d, want %d", len(c.in), got, c.want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"", "Café", "\u201cx\u201d", "\U0001F600", "a\x00b", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Fold(s)
		if !Valid(out) {
			t.Fatalf("Fold(%q) = %q not GSM-7", s, out)
		}
		if Fold(out) != out {
			t.Fatalf("Fold not idempotent on %q", s)
		}
	})
}
