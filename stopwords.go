package huduma

import (
	"strings"
	"unicode"
)

// People search in sentences ("I need a passport", "how to get a birth
// certificate", "nataka cheti cha kuzaliwa"). The words below carry no
// meaning in a search of service names, in English or Kiswahili: the
// search leaves them out of the query (never out of the names), unless
// the query has nothing else, which is then searched as typed. The list
// holds words only, lower case and without accents as search normalises
// them, and none that tells services apart: "search" (land search),
// "help" (self help group), "new" and "child" stay meaningful.
var stopWords = map[string]struct{}{}

func init() {
	for _, w := range strings.Fields(`
		a an the i me my mine myself we us our ours you your yours he him his she her it its they them their
		this that these those am is are was were be been being do does did doing have has had having
		can could would should will shall may might must want wants wanted wanting need needs needed needing
		like please pls plz kindly how what where when which who whom why
		to of for in on at by with from about into onto and or but so if
		get gets getting got obtain apply applying look looking some any there here know just also
		m s t ll ve
		nataka ninataka nilitaka tunataka unataka nahitaji ninahitaji tunahitaji naomba ningependa napenda
		natafuta ninatafuta tafadhali jinsi namna ya wa la cha za vya kwa na ni katika kwenye
		kupata nipate kupatiwa mimi sisi yangu wangu changu langu zangu yako je gani nini vipi
		ili au pia hii hiyo huyu hilo hicho hizi kuna`) {
		stopWords[w] = struct{}{}
	}
}

// StopWord reports whether w, a word as search normalises it (lower
// case, accents stripped), carries no meaning in a search.
func StopWord(w string) bool {
	_, ok := stopWords[w]
	return ok
}

// KeyWords is a search query as its results are titled: as typed, less
// the stop words it starts and ends with ("I need a passport" is
// "passport", "nataka cheti cha kuzaliwa" is "cheti cha kuzaliwa"), or
// the whole query when it has nothing else. A word is a stop word when
// every run of letters and digits in it is one ("I'm" is "i" and "m").
func KeyWords(q string) string {
	words := strings.Fields(q)
	stop := func(w string) bool {
		for _, p := range strings.FieldsFunc(strings.ToLower(w), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if !StopWord(p) {
				return false
			}
		}
		return true // punctuation alone means nothing either
	}
	from, to := 0, len(words)
	for from < to && stop(words[from]) {
		from++
	}
	for to > from && stop(words[to-1]) {
		to--
	}
	if from == to {
		return strings.Join(words, " ")
	}
	return strings.Join(words[from:to], " ")
}
