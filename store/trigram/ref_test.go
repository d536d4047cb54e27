package trigram

// The index as it was before the word-mask rewrite, kept verbatim but for
// names (and no pooling) as the reference the new one must agree with to
// the bit: same services, order and scores (TestSearchMatchesReference).
// One addition: a query leaves out its stop words as the index does
// (refMeaningful), so the two agree on sentences too.

import (
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/huduma-ke/huduma"
	"golang.org/x/text/unicode/norm"
)

func refNormalize(s string) string {
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

// refSet is a set of trigrams.
type refSet map[string]struct{}

// refOf returns the trigrams of every word of the normalised text, padded as
// pg_trgm pads them (two spaces before a word, one after).
func refOf(text string) refSet {
	set := refSet{}
	for _, w := range strings.Fields(refNormalize(text)) {
		refAddWord(set, w)
	}
	return set
}

func refAddWord(set refSet, w string) {
	r := []rune("  " + w + " ")
	for i := 0; i+3 <= len(r); i++ {
		set[string(r[i:i+3])] = struct{}{}
	}
}

// refName is a service name split into words with their trigrams, prepared
// once so ranking many candidates allocates nothing per candidate.
type refName struct {
	words []string
	sets  []refSet
}

// refPrepare splits name for scoring.
func refPrepare(name string) refName {
	n := refName{words: strings.Fields(refNormalize(name))}
	n.sets = make([]refSet, len(n.words))
	for i, w := range n.words {
		n.sets[i] = refSet{}
		refAddWord(n.sets[i], w)
	}
	return n
}

// refQuery is a search query prepared for scoring against many names.
type refQuery struct {
	words []string
	sets  []refSet
	// All is every trigram of the query, for candidate lookup.
	All refSet
}

// refMeaningful is q normalised without its stop words, or with all of
// them when it has nothing else.
func refMeaningful(q string) string {
	all := strings.Fields(refNormalize(q))
	var kept []string
	for _, w := range all {
		if !huduma.StopWord(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		kept = all
	}
	return strings.Join(kept, " ")
}

// refPrepareQuery splits q for scoring.
func refPrepareQuery(q string) refQuery {
	n := refPrepare(refMeaningful(q))
	all := refSet{}
	for _, s := range n.sets {
		for g := range s {
			all[g] = struct{}{}
		}
	}
	return refQuery{words: n.words, sets: n.sets, All: all}
}

// Score returns, for each query word, the best share of its trigrams found
// in one word of the name, averaged over the query words: 1 for an exact
// word (or a prefix of at least three letters, "cert" in "certificate"),
// about 0.9 for a one-letter typo, 0 for nothing in common.
func (q refQuery) Score(n refName) float64 {
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

// refWordSimilarity scores one query against one name (see refQuery.Score).
func refWordSimilarity(query, name string) float64 {
	return refPrepareQuery(query).Score(refPrepare(name))
}

// refIndex is the old Index.
type refIndex struct {
	// Version is the catalog version the index was built from.
	Version  int64
	services []huduma.Service
	names    []refName
	// grams maps a trigram to the positions of services containing it.
	grams map[string][]int32
	// byCode maps a service code to its position.
	byCode map[int]int32
}

// The old constants, written out so the reference stands on its own.
const (
	refMinScore  = 0.5
	refMaxScored = 150
)

// newRefIndex indexes services (the active ones of one catalog version) by
// their English and Kiswahili names.
func newRefIndex(version int64, services []huduma.Service) *refIndex {
	x := &refIndex{Version: version, services: services, names: make([]refName, len(services)), grams: map[string][]int32{},
		byCode: make(map[int]int32, len(services))}
	for i, sv := range services {
		x.byCode[sv.Code] = int32(i)
		name := sv.NameEN + " " + sv.NameSW
		x.names[i] = refPrepare(name)
		for g := range refOf(name) {
			x.grams[g] = append(x.grams[g], int32(i))
		}
	}
	return x
}

// search returns up to limit services best matching q, and their scores:
// a service code typed as the query first, then by similarity, ties by
// code.
func (x *refIndex) search(q string, limit int) ([]huduma.Service, []float64) {
	if len(q) > 100 {
		q = q[:100]
	}
	if refNormalize(q) == "" || limit <= 0 {
		return nil, nil
	}
	if code, err := strconv.Atoi(strings.TrimSpace(q)); err == nil {
		if sv, ok := x.ByCode(code); ok {
			return []huduma.Service{sv}, nil
		}
	}
	query := refPrepareQuery(q)
	counts := make([]uint8, len(x.services))
	var touched []int32
	for g := range query.All {
		for _, i := range x.grams[g] {
			if counts[i] == 0 {
				touched = append(touched, i)
			}
			if counts[i] < 255 {
				counts[i]++
			}
		}
	}
	// A service sharing under 40% of the query's trigrams cannot reach
	// refMinScore; skip scoring it.
	need := (len(query.All)*2 + 4) / 5
	cands := make([]int32, 0, len(touched)) // not touched[:0]: touched clears the pooled counts
	for _, i := range touched {
		if int(counts[i]) >= need {
			cands = append(cands, i)
		}
	}
	// Shared trigrams predict the score closely; scoring only the best
	// refMaxScored candidates bounds the work for common words.
	if len(cands) > refMaxScored {
		sort.Slice(cands, func(a, b int) bool {
			if counts[cands[a]] != counts[cands[b]] {
				return counts[cands[a]] > counts[cands[b]]
			}
			return cands[a] < cands[b]
		})
		cands = cands[:refMaxScored]
	}
	type hit struct {
		i     int32
		score float64
	}
	var hits []hit
	for _, i := range cands {
		if sc := query.Score(x.names[i]); sc >= refMinScore {
			hits = append(hits, hit{i, sc})
		}
	}
	sort.Slice(hits, func(a, b int) bool {
		if hits[a].score != hits[b].score {
			return hits[a].score > hits[b].score
		}
		return x.services[hits[a].i].Code < x.services[hits[b].i].Code
	})
	out := make([]huduma.Service, 0, min(limit, len(hits)))
	var scores []float64
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, x.services[h.i])
		scores = append(scores, h.score)
	}
	return out, scores
}

// ByCode returns the active service with code.
func (x *refIndex) ByCode(code int) (huduma.Service, bool) {
	i, ok := x.byCode[code]
	if !ok {
		return huduma.Service{}, false
	}
	return x.services[i], true
}
