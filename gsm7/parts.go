package gsm7

import (
	"strings"
	"unicode/utf8"
)

// The sizes of an SMS in GSM-7 septets: one part holds 160; a message
// that needs more is sent as parts of 153 each (the other 7 carry the
// concatenation header).
const (
	SingleSeptets = 160
	PartSeptets   = 153
)

// septets is the cost of one rune in GSM-7 (2 for the extension table).
func septets(r rune) int {
	if strings.ContainsRune(ext, r) {
		return 2
	}
	return 1
}

// KeepWords lays s out so that, when it takes more than one SMS part, no
// word (a run of characters without a space or newline) is cut between
// two parts: spaces are added before such a word so that it starts the
// next part. A handset that shows parts one by one, or loses one, then
// still shows every service code, invoice number and amount whole. Text
// that fits one SMS, or is not GSM-7, is returned as it is; a word longer
// than a part cannot be kept whole and is left as it is.
func KeepWords(s string) string {
	if n, ok := Septets(s); !ok || n <= SingleSeptets {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 32)
	pos := 0 // septets written so far
	for i := 0; i < len(s); {
		if c := s[i]; c == ' ' || c == '\n' {
			b.WriteByte(c)
			pos++
			i++
			continue
		}
		// A word: measure it, and move it to the next part if it would
		// straddle a boundary.
		j, w := i, 0
		for j < len(s) && s[j] != ' ' && s[j] != '\n' {
			r, size := utf8.DecodeRuneInString(s[j:])
			w += septets(r)
			j += size
		}
		if used := pos % PartSeptets; w <= PartSeptets && used+w > PartSeptets {
			pad := PartSeptets - used
			b.WriteString(strings.Repeat(" ", pad))
			pos += pad
		}
		b.WriteString(s[i:j])
		pos += w
		i = j
	}
	return b.String()
}

// SplitParts cuts s where the network cuts it: one part when it fits one
// SMS, else parts of PartSeptets septets (an extension character is never
// split from its escape). It is what a handset that cannot join parts
// shows, one part at a time; tests use it to check what each part holds.
// Text that is not GSM-7 comes back as one part.
func SplitParts(s string) []string {
	if n, ok := Septets(s); !ok || n <= SingleSeptets {
		return []string{s}
	}
	var parts []string
	start, used := 0, 0
	for i, r := range s {
		c := septets(r)
		if used+c > PartSeptets {
			parts = append(parts, s[start:i])
			start, used = i, 0
		}
		used += c
	}
	return append(parts, s[start:])
}
