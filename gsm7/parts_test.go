package gsm7

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wordsWhole reports whether every word of s lies inside one part.
func wordsWhole(t *testing.T, s string) {
	t.Helper()
	parts := SplitParts(s)
	joined := strings.Join(parts, "")
	if joined != s {
		t.Fatalf("parts do not join back to the text")
	}
	words := strings.Fields(s)
	var inParts []string
	for _, p := range parts {
		inParts = append(inParts, strings.Fields(p)...)
	}
	if strings.Join(words, " ") != strings.Join(inParts, " ") {
		t.Fatalf("a word is cut between parts:\n%q", parts)
	}
}

func TestKeepWords(t *testing.T) {
	short := "Invoice 1234567890: Birth certificate, KES 55."
	if got := KeepWords(short); got != short {
		t.Fatalf("a one-part text changed: %q", got)
	}
	// "4600" would start at septet 151 and end at 154, across the first
	// boundary (153).
	long := strings.Repeat("a", 150) + " 4600 " + strings.Repeat("b", 20)
	if parts := SplitParts(long); !strings.HasSuffix(parts[0], " 46") {
		t.Fatalf("the fixture does not straddle: %q", parts[0])
	}
	got := KeepWords(long)
	wordsWhole(t, got)
	if parts := SplitParts(got); len(parts) != 2 || !strings.HasPrefix(parts[1], "4600 ") || strings.TrimRight(parts[0], " ") != strings.Repeat("a", 150) {
		t.Fatalf("4600 is not whole at the start of part 2: %q", parts)
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(long), " ") {
		t.Fatal("KeepWords changed more than spacing")
	}
	// Lines of codes and amounts, three parts' worth.
	var b strings.Builder
	for i := 0; i < 14; i++ {
		b.WriteString("1001 Ordinary passport 34 pages KES 4550\n")
	}
	got = KeepWords(b.String())
	wordsWhole(t, got)
	if SMSParts(got) < SMSParts(b.String()) {
		t.Fatal("padding cannot save parts")
	}
	// A word longer than a part is left alone; not GSM-7 is left alone.
	huge := strings.Repeat("x", 200)
	if KeepWords(huge) != huge {
		t.Fatal("an over-long word changed")
	}
	u := strings.Repeat("\u0645", 200)
	if KeepWords(u) != u || len(SplitParts(u)) != 3 {
		t.Fatal("UCS-2 text changed")
	}
}

func TestSplitParts(t *testing.T) {
	if p := SplitParts(strings.Repeat("a", 160)); len(p) != 1 {
		t.Fatalf("160 septets: %d parts", len(p))
	}
	p := SplitParts(strings.Repeat("a", 161))
	if len(p) != 2 || len(p[0]) != 153 || len(p[1]) != 8 {
		t.Fatalf("161 septets: %d parts", len(p))
	}
	// An extension character (2 septets) is not split from its escape.
	p = SplitParts(strings.Repeat("a", 152) + "{" + strings.Repeat("b", 10))
	if len(p) != 2 || len(p[0]) != 152 || !strings.HasPrefix(p[1], "{") {
		t.Fatalf("extension at the boundary: %q", p)
	}
	for _, s := range []string{strings.Repeat("ab ", 100), strings.Repeat("x", 400)} {
		if got := len(SplitParts(s)); got != SMSParts(s) {
			t.Fatalf("SplitParts gives %d parts, SMSParts %d", got, SMSParts(s))
		}
	}
}

func FuzzKeepWords(f *testing.F) {
	f.Add(strings.Repeat("a", 150) + " 4600 " + strings.Repeat("b", 20))
	f.Add("1001 Ordinary passport KES 4550\n2001 Driving licence KES 650")
	f.Fuzz(func(t *testing.T, s string) {
		s = Fold(s)
		got := KeepWords(s)
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(s), " ") {
			t.Fatalf("KeepWords changed more than spacing")
		}
		for _, w := range strings.Fields(s) {
			if len(w) > PartSeptets {
				return
			}
		}
		wordsWhole(t, got)
	})
}

// TestKeepWordsKeepsLines: a list line that would straddle a boundary
// moves whole to the next part, its padding at the end of the line before.
func TestKeepWordsKeepsLines(t *testing.T) {
	var lines []string
	for i := 0; i < 6; i++ {
		lines = append(lines, fmt.Sprintf("100%d Ordinary passport %d pages KES 4550", i, 30+i))
	}
	s := strings.Join(lines, "\n")
	got := KeepWords(s)
	parts := SplitParts(got)
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		for _, l := range strings.Split(p, "\n") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
				t.Fatalf("a line is cut between parts: %q in %q", l, parts)
			}
		}
	}
	if !strings.HasPrefix(parts[1], "\n") && !strings.HasPrefix(parts[1], "100") {
		t.Fatalf("part 2 does not start at a line: %q", parts[1])
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(s), " ") {
		t.Fatal("KeepWords changed more than spacing")
	}
}
