// Package trigram scores how well a typed query matches a service name,
// the way Postgres's pg_trgm word_similarity does: both are split into
// words, each word into three-letter pieces padded with spaces, and the
// score is the share of the query's pieces found in the name. "pasport"
// shares 7 of its 8 pieces with "passport", so a typo still finds it.
//
// Both stores search with this package's in-memory Index (the Postgres
// store used pg_trgm itself until load tests showed a database round trip
// per search was the gateway's bottleneck); the shared conformance suite
// holds both to the same results.
package trigram

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize lower-cases s, strips accents and turns anything that is not a
// letter or digit into a space.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// Set is a set of trigrams.
type Set map[string]struct{}

// Of returns the trigrams of every word of the normalised text, padded as
// pg_trgm pads them (two spaces before a word, one after).
func Of(text string) Set {
	set := Set{}
	for _, w := range strings.Fields(Normalize(text)) {
		addWord(set, w)
	}
	return set
}

func addWord(set Set, w string) {
	r := []rune("  " + w + " ")
	for i := 0; i+3 <= len(r); i++ {
		set[string(r[i:i+3])] = struct{}{}
	}
}

// Name is a service name split into words with their trigrams, prepared
// once so ranking many candidates allocates nothing per candidate.
type Name struct {
	words []string
	sets  []Set
}

// Prepare splits name for scoring.
func Prepare(name string) Name {
	n := Name{words: strings.Fields(Normalize(name))}
	n.sets = make([]Set, len(n.words))
	for i, w := range n.words {
		n.sets[i] = Set{}
		addWord(n.sets[i], w)
	}
	return n
}

// Query is a search query prepared for scoring against many names.
type Query struct {
	words []string
	sets  []Set
	// All is every trigram of the query, for candidate lookup.
	All Set
}

// PrepareQuery splits q for scoring.
func PrepareQuery(q string) Query {
	n := Prepare(q)
	all := Set{}
	for _, s := range n.sets {
		for g := range s {
			all[g] = struct{}{}
		}
	}
	return Query{words: n.words, sets: n.sets, All: all}
}

// Score returns, for each query word, the best share of its trigrams found
// in one word of the name, averaged over the query words: 1 for an exact
// word (or a prefix of at least three letters, "cert" in "certificate"),
// about 0.9 for a one-letter typo, 0 for nothing in common.
func (q Query) Score(n Name) float64 {
	if len(q.words) == 0 || len(n.words) == 0 {
		return 0
	}
	var total float64
	for qi, qw := range q.words {
		qset := q.sets[qi]
		best := 0.0
		for i, nset := range n.sets {
			if len(qw) >= 3 && strings.HasPrefix(n.words[i], qw) {
				best = 1
				break
			}
			shared := 0
			for g := range qset {
				if _, ok := nset[g]; ok {
					shared++
				}
			}
			if s := float64(shared) / float64(len(qset)); s > best {
				best = s
			}
		}
		total += best
	}
	return total / float64(len(q.words))
}

// WordSimilarity scores one query against one name (see Query.Score).
func WordSimilarity(query, name string) float64 {
	return PrepareQuery(query).Score(Prepare(name))
}
