package smschannel

import (
	"strings"
	"unicode"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// command is what a text asks for.
type command string

// The SMS keywords' commands.
const (
	cmdFind    command = "find"
	cmdInfo    command = "info"
	cmdInvoice command = "invoice"
	cmdPay     command = "pay"
	cmdStatus  command = "status"
	cmdApp     command = "app"
	cmdHelp    command = "help"
	cmdStop    command = "stop"
	cmdStart   command = "start"
	cmdLang    command = "lang"
)

// keyword is one word the inbox answers to. lang is the language the word
// is in, "" for words both languages use (INFO, LANG): a phone that never
// chose a language is answered in the keyword's.
type keyword struct {
	word string
	cmd  command
	lang huduma.Language
	// exact words are never guessed from a misspelling: STOP and START
	// change what the phone receives.
	exact bool
}

var keywordTable = []keyword{
	{"FIND", cmdFind, huduma.English, false}, {"SEARCH", cmdFind, huduma.English, false}, {"TAFUTA", cmdFind, huduma.Kiswahili, false},
	{"INFO", cmdInfo, "", false}, {"DETAILS", cmdInfo, huduma.English, false}, {"MAELEZO", cmdInfo, huduma.Kiswahili, false},
	{"INVOICE", cmdInvoice, huduma.English, false}, {"ANKARA", cmdInvoice, huduma.Kiswahili, false},
	{"PAY", cmdPay, huduma.English, false}, {"LIPA", cmdPay, huduma.Kiswahili, false},
	{"STATUS", cmdStatus, huduma.English, false}, {"HALI", cmdStatus, huduma.Kiswahili, false},
	{"APP", cmdApp, huduma.English, false}, {"OMBI", cmdApp, huduma.Kiswahili, false},
	{"HELP", cmdHelp, huduma.English, false}, {"MSAADA", cmdHelp, huduma.Kiswahili, false},
	// Greetings get the help text too (HALO would otherwise read as a
	// slip of HALI).
	{"HELLO", cmdHelp, huduma.English, true}, {"HI", cmdHelp, huduma.English, true}, {"MENU", cmdHelp, huduma.English, true},
	{"HALO", cmdHelp, huduma.Kiswahili, true}, {"HABARI", cmdHelp, huduma.Kiswahili, true}, {"HUJAMBO", cmdHelp, huduma.Kiswahili, true},
	{"STOP", cmdStop, huduma.English, true}, {"SITISHA", cmdStop, huduma.Kiswahili, true},
	{"START", cmdStart, huduma.English, true}, {"ANZA", cmdStart, huduma.Kiswahili, true},
	{"LANG", cmdLang, "", false}, {"LANGUAGE", cmdLang, huduma.English, false}, {"LUGHA", cmdLang, huduma.Kiswahili, false},
}

// parsed is a text read as a keyword and its arguments.
type parsed struct {
	// kw is the keyword, nil when the text starts with none.
	kw *keyword
	// args are the words after the keyword, as typed (case kept: an
	// input's own rules decide about case).
	args []string
	// words are all the words of the text, folded to GSM-7.
	words []string
}

// parseText reads a text the way people type on a phone: any case, any
// spacing, the keyword glued to its argument ("STATUS:123…", "PAY123…")
// and, unless strict, a keyword of four letters or more with a slip of
// the thumb (one letter wrong, missing, extra or two swapped; two for
// words of seven letters or more). Strict is for a text that may be the
// answer to a question: only a keyword spelt right interrupts it.
func parseText(text string, strict bool) parsed {
	words := strings.Fields(gsm7.Fold(text))
	p := parsed{words: words}
	if len(words) == 0 {
		return p
	}
	// The whole first word, then its letters; spelt right, then slipped
	// ("INF0" is INFO with a zero, not INF and 0).
	whole := strings.ToUpper(words[0])
	head, rest := splitHead(words[0])
	head = strings.ToUpper(head)
	kw := matchKeyword(whole, true)
	if kw != nil {
		rest = ""
	} else if kw = matchKeyword(head, true); kw == nil && !strict {
		if kw = matchKeyword(whole, false); kw != nil {
			rest = ""
		} else {
			kw = matchKeyword(head, false)
		}
	}
	if kw == nil {
		return p
	}
	p.kw = kw
	if rest != "" {
		p.args = append(p.args, rest)
	}
	p.args = append(p.args, words[1:]...)
	return p
}

// splitHead splits a first word into its leading letters and what follows
// them, without the punctuation between ("FIND:passport" → "FIND",
// "passport"; "PAY1234567890" → "PAY", "1234567890").
func splitHead(w string) (head, rest string) {
	i := 0
	for i < len(w) && unicode.IsLetter(rune(w[i])) {
		i++
	}
	return w[:i], strings.TrimLeft(w[i:], ":;,.#=-*")
}

// matchKeyword returns the keyword w is, or (not strict) the one keyword
// it is a slip of; nil when none, or when two commands are equally close.
func matchKeyword(w string, strict bool) *keyword {
	if w == "" {
		return nil
	}
	for i := range keywordTable {
		if keywordTable[i].word == w {
			return &keywordTable[i]
		}
	}
	if strict {
		return nil
	}
	var best *keyword
	bestDist, tie := 3, false
	for i := range keywordTable {
		k := &keywordTable[i]
		allowed := slips(k.word)
		if k.exact || allowed == 0 {
			continue
		}
		d := distance(w, k.word, allowed)
		switch {
		case d > allowed:
		case d < bestDist:
			best, bestDist, tie = k, d, false
		case d == bestDist && best != nil && best.cmd != k.cmd:
			tie = true
		}
	}
	if tie {
		return nil
	}
	return best
}

// slips is how many typing mistakes a keyword of that length forgives:
// none up to three letters (PAY and APP are too close to other words).
func slips(word string) int {
	switch {
	case len(word) <= 3:
		return 0
	case len(word) < 7:
		return 1
	}
	return 2
}

// distance is the optimal string alignment distance between a and b (a
// letter wrong, missing or extra, or two neighbours swapped, each costs
// one), or limit+1 as soon as it is certainly more than limit.
func distance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// languageWord reads LANG's argument in either language.
func languageWord(w string) (huduma.Language, bool) {
	switch strings.ToUpper(w) {
	case "EN", "ENG", "ENGLISH", "KIINGEREZA":
		return huduma.English, true
	case "SW", "KISWAHILI", "SWAHILI", "KISW":
		return huduma.Kiswahili, true
	}
	return "", false
}
