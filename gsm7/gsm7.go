// Package gsm7 folds text into the characters every handset and USSD
// gateway can show, and measures it the way the network does. USSD screens
// and SMS both travel as GSM 03.38 septets: a screen holds 182 of them, an
// SMS 160 (153 per part when split). Accents, curly quotes, dashes and
// emoji either break rendering on feature phones or force UCS-2, which
// shrinks an SMS to 70 characters, so Huduma folds everything it sends.
package gsm7

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// replacements fold common non-GSM characters to plain equivalents. The
// GSM-7 extension characters ([]{}~|\^ and the euro sign) cost two septets
// and several aggregators mangle them, so they are folded too.
var replacements = map[rune]string{
	'\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '`': "'", '\u00B4': "'",
	'\u201C': `"`, '\u201D': `"`, '\u201E': `"`, '\u00AB': `"`, '\u00BB': `"`,
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
	'\u2026': "...", '\u00A0': " ", '\u2007': " ", '\u202F': " ", '\t': " ",
	'[': "(", ']': ")", '{': "(", '}': ")", '~': "-", '|': "/", '\\': "/", '^': "",
	'\u20AC': "EUR", '\u00A3': "GBP", '\u00D7': "x", '\u2022': "-", '\u00B7': "-",
	'\u00DF': "ss", '\u00C6': "AE", '\u00E6': "ae", '\u00D8': "O", '\u00F8': "o", '\u0141': "L", '\u0142': "l",
	'\r': "",
}

// Fold returns s in printable ASCII plus newline, which is a subset of the
// GSM-7 basic table: accents are stripped (é → e), punctuation is mapped to
// its plain form, and anything else (emoji, other scripts) is dropped.
func Fold(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case r == '\n' || (r >= ' ' && r <= '~' && replacements[r] == "" && !isExtension(r)):
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// combining accent left over from NFD: drop it
		default:
			if rep, ok := replacements[r]; ok {
				b.WriteString(rep)
			}
		}
	}
	return b.String()
}

func isExtension(r rune) bool {
	switch r {
	case '[', ']', '{', '}', '~', '|', '\\', '^', '`':
		return true
	}
	return false
}

// isPlain reports whether s is already folded, the common case, so Fold
// allocates nothing for it.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\n' && (c < ' ' || c > '~' || isExtension(rune(c))) {
			return false
		}
	}
	return true
}

// basic is the GSM 03.38 default alphabet (one septet each); ext holds the
// extension table (escape + septet: two each).
const (
	basic = "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
	ext   = "^{}\\[~]|\u20ac\f"
)

// Septets returns how many GSM-7 septets s takes and whether every rune of
// it is encodable in GSM-7 at all.
func Septets(s string) (n int, ok bool) {
	ok = true
	for _, r := range s {
		switch {
		case strings.ContainsRune(basic, r):
			n++
		case strings.ContainsRune(ext, r):
			n += 2
		default:
			n++
			ok = false
		}
	}
	return n, ok
}

// Valid reports whether s encodes in GSM-7.
func Valid(s string) bool {
	_, ok := Septets(s)
	return ok
}

// SMSParts returns how many SMS parts s takes, and so how many the
// provider bills: the parts SplitParts cuts it into.
func SMSParts(s string) int {
	return len(SplitParts(s))
}
