package gsm7

import (
	"strings"
	"unicode/utf8"
)

// The sizes of an SMS. In GSM-7 one part holds 160 septets; a message
// that needs more is sent as parts of 153 each (the other 7 carry the
// concatenation header). Text with any character outside GSM-7 goes as
// UCS-2 (UTF-16 on today's networks): 70 units alone, 67 per part.
const (
	SingleSeptets = 160
	PartSeptets   = 153
	SingleUCS2    = 70
	PartUCS2      = 67
)

// septets is the cost of one rune in GSM-7 (2 for the extension table).
func septets(r rune) int {
	if strings.ContainsRune(ext, r) {
		return 2
	}
	return 1
}

// KeepWords lays s out so that, when it takes more than one SMS part,
// nothing is cut between two parts: each line that fits in a part is
// kept whole (spaces at the end of the line before it push it to the next
// part), and within a longer line each word (a run of characters without a
// space) is. A handset that shows parts one by one, or loses one, then
// still shows every service code, invoice number and amount whole, with
// its line. Text that fits one SMS, or is not GSM-7, is returned as it
// is; a word longer than a part cannot be kept whole and is left as it is.
func KeepWords(s string) string {
	if n, ok := Septets(s); !ok || n <= SingleSeptets {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 64)
	pos := 0 // septets written so far
	for i, line := range strings.Split(s, "\n") {
		w := width(line)
		if i > 0 {
			// The line starts after its newline; if it would straddle a
			// boundary, pad the line before so it starts the next part.
			if start := (pos + 1) % PartSeptets; w <= PartSeptets && start != 0 && start+w > PartSeptets {
				pad := PartSeptets - start
				b.WriteString(strings.Repeat(" ", pad))
				pos += pad
			}
			b.WriteByte('\n')
			pos++
		}
		if pos%PartSeptets+w <= PartSeptets {
			b.WriteString(line)
			pos += w
			continue
		}
		pos = keepWordsOfLine(&b, line, pos)
	}
	return b.String()
}

// width is a line's length in septets.
func width(s string) int {
	n := 0
	for _, r := range s {
		n += septets(r)
	}
	return n
}

// keepWordsOfLine writes line from septet pos on, moving each word that
// would straddle a boundary to the next part, and returns the new pos.
func keepWordsOfLine(b *strings.Builder, line string, pos int) int {
	for i := 0; i < len(line); {
		if line[i] == ' ' {
			b.WriteByte(' ')
			pos++
			i++
			continue
		}
		j, w := i, 0
		for j < len(line) && line[j] != ' ' {
			r, size := utf8.DecodeRuneInString(line[j:])
			w += septets(r)
			j += size
		}
		if used := pos % PartSeptets; w <= PartSeptets && used+w > PartSeptets {
			pad := PartSeptets - used
			b.WriteString(strings.Repeat(" ", pad))
			pos += pad
		}
		b.WriteString(line[i:j])
		pos += w
		i = j
	}
	return pos
}

// SplitParts cuts s where the network cuts it: one part when it fits one
// SMS, else parts of PartSeptets septets (PartUCS2 UTF-16 units for text
// that is not GSM-7). A character is never split between parts: an
// extension character stays with its escape (3GPP TS 23.038 forbids a
// part ending in one), and a character outside the BMP keeps both halves
// of its surrogate pair (what handsets and SMSCs do, assumed of every
// provider), so a part may hold one less. It is what a handset that
// cannot join parts shows, one part at a time; tests use it to check what
// each part holds, and SMSParts counts its parts.
func SplitParts(s string) []string {
	cost, single, part := septets, SingleSeptets, PartSeptets
	if !Valid(s) {
		cost, single, part = utf16Units, SingleUCS2, PartUCS2
	}
	total := 0
	for _, r := range s {
		total += cost(r)
	}
	if total <= single {
		return []string{s}
	}
	var parts []string
	start, used := 0, 0
	for i, r := range s {
		c := cost(r)
		if used+c > part {
			parts = append(parts, s[start:i])
			start, used = i, 0
		}
		used += c
	}
	return append(parts, s[start:])
}

// utf16Units is the cost of one rune in UCS-2/UTF-16: 2 for a surrogate
// pair.
func utf16Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}
