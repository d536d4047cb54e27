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
		// GSM-7: 153 per part once concatenated.
		{strings.Repeat("a", 459), 3},
		{strings.Repeat("a", 460), 4},
		{strings.Repeat("a", 612), 4},
		{strings.Repeat("a", 613), 5},
		// Each extension character (the euro sign and ^{}\[~]|) is an escape
		// and a septet: two.
		{strings.Repeat("a", 158) + "\u20ac", 1},
		{strings.Repeat("a", 159) + "\u20ac", 2},
		{"^{}\\[~]|\u20ac" + strings.Repeat("a", 142), 1},
		{"^{}\\[~]|\u20ac" + strings.Repeat("a", 143), 2},
		// An escape is never split from its septet: when one would end a
		// part, the pair opens the next, so the part holds 152.
		{strings.Repeat("a", 152) + "{" + strings.Repeat("b", 151), 2},
		{strings.Repeat("a", 152) + "{" + strings.Repeat("b", 152), 3},
		{strings.Repeat("a", 152) + "[" + strings.Repeat("b", 151) + "]" + strings.Repeat("c", 151), 3},
		{strings.Repeat("a", 152) + "[" + strings.Repeat("b", 151) + "]" + strings.Repeat("c", 152), 4},
		// Accented letters in the GSM-7 table cost one septet; one outside
		// it turns the whole text into UCS-2: 70 units alone, 67 per part.
		{strings.Repeat("\u00e9", 160), 1},
		{strings.Repeat("a", 69) + "\u0107", 1},
		{strings.Repeat("a", 70) + "\u0107", 2},
		{strings.Repeat("\u0645", 134), 2},
		{strings.Repeat("\u0645", 135), 3},
		// A character outside the BMP takes two UTF-16 units, never split
		// between parts.
		{strings.Repeat("\U0001F600", 35), 1},
		{strings.Repeat("\u0645", 69) + "\U0001F600", 2},
		{strings.Repeat("\u0645", 66) + "\U0001F600" + strings.Repeat("\u0645", 65), 2},
		{strings.Repeat("\u0645", 66) + "\U0001F600" + strings.Repeat("\u0645", 66), 3},
	}
	for _, c := range cases {
		if got := SMSParts(c.in); got != c.want {
			t.Errorf("SMSParts(%d bytes: %.12q…) = %d, want %d", len(c.in), c.in, got, c.want)
		}
		if got := len(SplitParts(c.in)); got != c.want {
			t.Errorf("SplitParts(%d bytes: %.12q…) cuts %d parts, want %d", len(c.in), c.in, got, c.want)
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
