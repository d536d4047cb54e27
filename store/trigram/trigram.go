// Package trigram scores how well a typed query matches a service name,
// the way Postgres's pg_trgm word_similarity does: both are split into
// words, each word into three-letter pieces padded with spaces, and the
// score is the share of the query's pieces found in the name. "pasport"
// shares 7 of its 8 pieces with "passport", so a typo still finds it.
//
// Precisely: text is normalised (Normalize), split into words, and each
// word w gives the trigrams of "  w " (two spaces before, one after, as
// pg_trgm pads). For each query word, its value against a name word is 1
// when the name word starts with it and it has at least three bytes
// ("cert" in "certificate"), else the share of its distinct trigrams found
// in that name word; the query word counts its best name word, and the
// score is the mean over the query's words, repeats included.
//
// Both stores search with this package's in-memory Index (the Postgres
// store used pg_trgm itself until load tests showed a database round trip
// per search was the gateway's bottleneck); the shared conformance suite
// holds both to the same results.
//
// Trigrams are packed into integers and a query's distinct trigrams are
// numbered, so a name word's trigrams in common with the query are one
// bit mask, computed once per query for each word of the catalog's
// vocabulary rather than once per name: scoring and counting a candidate
// then cost a few mask operations per word of its name and no maps or
// strings (docs/performance.md has the figures).
package trigram

import (
	"math/bits"
	"unicode"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"golang.org/x/text/unicode/norm"
)

// Normalize lower-cases s, strips accents and turns anything that is not a
// letter or digit into a space, keeping one space between words and none
// at either end.
func Normalize(s string) string {
	if isNormalASCII(s) {
		return s // nothing would change: spare the copy
	}
	var nfd []byte
	return string(appendNormalized(nil, &nfd, s))
}

// Blank reports whether s has nothing to search for: Normalize(s) == "".
// It allocates nothing for ASCII text, which is what the stores check
// every search with before they look at the catalog.
func Blank(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			var nfd []byte
			return len(appendNormalized(nil, &nfd, s)) == 0
		}
		if asciiAlnum(c) {
			return false
		}
	}
	return true
}

// isNormalASCII reports whether s is ASCII already in normal form: lower
// case letters and digits, single spaces between words, none at the ends.
func isNormalASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ':
		default:
			return false
		}
	}
	return true
}

func asciiAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// appendNormalized appends Normalize(s) to dst. Non-ASCII text is first
// decomposed (NFD) into *nfd, a buffer the caller may keep for reuse, so
// that accents come apart from their letters and can be dropped. ASCII is
// its own NFD and has no marks, letters or digits beyond [A-Za-z0-9], so
// it takes a byte loop with the same result.
func appendNormalized(dst []byte, nfd *[]byte, s string) []byte {
	start := len(dst)
	space := true // no space before the first word
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case asciiAlnum(c):
				if c <= 'Z' && c >= 'A' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
				space = false
			case !space:
				dst = append(dst, ' ')
				space = true
			}
		}
	} else {
		// An empty dst makes AppendString produce exactly NFD.String(s).
		*nfd = norm.NFD.AppendString((*nfd)[:0], s)
		for _, r := range string(*nfd) {
			switch {
			case unicode.Is(unicode.Mn, r):
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				dst = utf8.AppendRune(dst, unicode.ToLower(r))
				space = false
			case !space:
				dst = append(dst, ' ')
				space = true
			}
		}
	}
	if len(dst) > start && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// gram is one trigram, its three runes packed 21 bits each, so it can be
// compared, hashed and stored as an integer instead of a string.
type gram uint64

func pack(a, b, c rune) gram { return gram(a)<<42 | gram(b)<<21 | gram(c) }

// appendGrams appends the trigrams of the padded word "  w " (repeats
// included: "aaaa" has "aaa" twice).
func appendGrams(dst []gram, w []byte) []gram {
	a, b := ' ', ' '
	for len(w) > 0 {
		r, n := utf8.DecodeRune(w)
		w = w[n:]
		dst = append(dst, pack(a, b, r))
		a, b = b, r
	}
	return append(dst, pack(a, b, ' '))
}

// query is a search query prepared for scoring: its distinct trigrams are
// numbered, and each word's trigrams (and later each name word's trigrams
// in common with the query) are bit masks over those numbers. All slices
// are reused from one query to the next.
type query struct {
	text  []byte   // the normalised query
	nfd   []byte   // scratch for appendNormalized
	words [][]byte // the distinct words, slices of text
	seq   []int32  // the words as typed, as indexes into words
	grams []gram   // the distinct trigrams; mask bit i stands for grams[i]
	// stride is how many uint64 one mask takes: one bit more than the
	// trigrams, for the Index's done mark (1 up to 63 trigrams).
	stride int
	bits   []uint64 // word j's trigrams: bits[j*stride:][:stride]
	size   []int    // word j's count of distinct trigrams
	tmp    []gram
	at     []int32 // trigram numbers of each distinct word, flattened
	atEnd  []int32 // word j's numbers are at[atEnd[j-1]:atEnd[j]]
}

// prepare normalises q and numbers its trigrams. Words that carry no
// meaning (huduma.StopWord: "I need a", "jinsi ya") are left out, unless
// q has no other word. It returns false when q has no words.
func (q *query) prepare(s string) bool {
	q.text = appendNormalized(q.text[:0], &q.nfd, s)
	q.words, q.seq, q.grams, q.at, q.atEnd = q.words[:0], q.seq[:0], q.grams[:0], q.at[:0], q.atEnd[:0]
	meaningful := false
	for w, rest := nextWord(q.text); len(w) > 0 && !meaningful; w, rest = nextWord(rest) {
		meaningful = !huduma.StopWord(string(w))
	}
	for w, rest := nextWord(q.text); len(w) > 0; w, rest = nextWord(rest) {
		if meaningful && huduma.StopWord(string(w)) {
			continue
		}
		j := 0
		for j < len(q.words) && string(q.words[j]) != string(w) {
			j++
		}
		q.seq = append(q.seq, int32(j))
		if j < len(q.words) {
			continue // a repeated word counts again in the mean, with the same value
		}
		q.words = append(q.words, w)
		q.tmp = appendGrams(q.tmp[:0], w)
		for _, g := range q.tmp {
			i := 0
			for i < len(q.grams) && q.grams[i] != g {
				i++
			}
			if i == len(q.grams) {
				q.grams = append(q.grams, g)
			}
			q.at = append(q.at, int32(i))
		}
		q.atEnd = append(q.atEnd, int32(len(q.at)))
	}
	q.stride = len(q.grams)/64 + 1
	q.bits = grow(q.bits, len(q.words)*q.stride)
	q.size = q.size[:0]
	from := int32(0)
	for j := range q.words {
		m := q.bits[j*q.stride:][:q.stride]
		for _, i := range q.at[from:q.atEnd[j]] {
			m[i/64] |= 1 << (i % 64)
		}
		from = q.atEnd[j]
		q.size = append(q.size, popcount(m))
	}
	return len(q.seq) > 0
}

// value returns how well name word w, with trigrams in common with the
// query given by mask, serves query word j. It is the per-word term of
// the package's scoring.
func (q *query) value(j int, w string, mask []uint64) float64 {
	qw := q.words[j]
	if len(qw) >= 3 && len(w) >= len(qw) && w[:len(qw)] == string(qw) {
		return 1
	}
	shared := 0
	for k, m := range q.bits[j*q.stride:][:q.stride] {
		shared += bits.OnesCount64(m & mask[k])
	}
	return float64(shared) / float64(q.size[j])
}

// mean returns the score from each distinct word's best value: the mean
// over the words as typed, summed in their order.
func (q *query) mean(best []float64) float64 {
	var total float64
	for _, j := range q.seq {
		total += best[j]
	}
	return total / float64(len(q.seq))
}

// maskOf sets in mask (stride long, zeroed) the query's trigrams that word
// w has. Only WordSimilarity needs it; the Index looks trigrams up in its
// vocabulary instead.
func (q *query) maskOf(mask []uint64, w []byte) {
	q.tmp = appendGrams(q.tmp[:0], w)
	for _, g := range q.tmp {
		for i, qg := range q.grams {
			if qg == g {
				mask[i/64] |= 1 << (i % 64)
			}
		}
	}
}

// WordSimilarity scores one query against one name, as the package
// describes: 1 for an exact word (or a prefix of at least three letters),
// about 0.9 for a one-letter typo, 0 for nothing in common.
func WordSimilarity(typed, name string) float64 {
	var q query
	if !q.prepare(typed) {
		return 0
	}
	var nfd []byte
	text := appendNormalized(nil, &nfd, name)
	if len(text) == 0 {
		return 0
	}
	best := make([]float64, len(q.words))
	mask := make([]uint64, q.stride)
	for w, rest := nextWord(text); len(w) > 0; w, rest = nextWord(rest) {
		clear(mask)
		q.maskOf(mask, w)
		for j := range best {
			best[j] = max(best[j], q.value(j, string(w), mask))
		}
	}
	return q.mean(best)
}

// nextWord splits the first word off normalised text (words are
// separated by single spaces), returning an empty word at the end.
func nextWord(text []byte) (w, rest []byte) {
	end := 0
	for end < len(text) && text[end] != ' ' {
		end++
	}
	return text[:end:end], text[min(end+1, len(text)):]
}

func popcount(m []uint64) int {
	n := 0
	for _, w := range m {
		n += bits.OnesCount64(w)
	}
	return n
}

// grow returns s resized to n zeroed elements, reusing its memory.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
