package huduma

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from outside (an SMS, an account a payer typed, a statement's
// party name) is kept and shown back: in the database, where Postgres
// refuses a NUL byte in text, and on an officer's terminal, where an
// escape sequence would rewrite the screen. CleanText and CleanLine make
// it safe for both, the same on every backend.

// replacement stands where a control character or a broken byte was, so
// the text visibly differs from what it would be without it (an account
// "12345\x0067890" does not become the invoice 1234567890 by a guess).
const replacement = '\uFFFD'

// CleanText returns s as valid UTF-8 with every control character (NUL,
// escape, the C1 range, DEL) replaced by U+FFFD, except line breaks and
// tabs, which are kept: fit for an SMS body.
func CleanText(s string) string {
	if clean(s, true) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return replacement
		}
		return r
	}, strings.ToValidUTF8(s, string(replacement)))
}

// CleanLine is CleanText for one line (a table cell, an account): line
// breaks and tabs become spaces too.
func CleanLine(s string) string {
	if clean(s, false) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, CleanText(s))
}

// clean reports whether s is valid UTF-8 without control characters
// (line breaks and tabs allowed when breaks): the usual case, with no copy.
func clean(s string, breaks bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(breaks && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
	}
	return true
}
