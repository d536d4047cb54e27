package trigram

import (
	"cmp"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/huduma-ke/huduma"
)

// Index is an immutable in-memory search index over a catalog version's
// active services. A catalog of 14,000 services takes under two megabytes
// and answers in tens of microseconds, which a database round trip
// cannot; both stores keep one and rebuild it when the catalog version
// moves.
//
// Names are indexed by word: the catalog's distinct words (its
// vocabulary, a few hundred words for thousands of names) each know their
// trigrams and the names that use them. A query first finds the
// vocabulary words sharing a trigram with it, and then reads only the
// names of those words, most promising first, until no unread name could
// still make the cut (see Search).
type Index struct {
	// Version is the catalog version the index was built from.
	Version  int64
	services []huduma.Service
	// byCode maps a service code to its position.
	byCode map[int]int32
	// vocab is every distinct normalised word of the names.
	vocab []string
	// gramWords maps a trigram to the vocabulary words that have it.
	gramWords map[gram][]int32
	// wordNames lists, for each vocabulary word, the positions of the
	// services whose name has it, ascending.
	wordNames [][]int32
	// nameWords holds each name's distinct vocabulary words: service i's
	// are nameWords[nameStart[i]:nameStart[i+1]].
	nameWords []int32
	nameStart []int32
	// co holds, for each vocabulary word, the other words found in a name
	// with it: word w's are co[coStart[w]:coStart[w+1]]. They bound what
	// the names of a word can have in common with a query.
	co      []int32
	coStart []int32
	pool    sync.Pool // of *scratch
}

// minScore is the similarity below which a service does not match (as
// pg_trgm's word_similarity_threshold, 0.5 here); maxScored caps how many
// candidates get a full score.
const (
	minScore  = 0.5
	maxScored = 150
)

// NewIndex indexes services (the active ones of one catalog version) by
// their English and Kiswahili names.
func NewIndex(version int64, services []huduma.Service) *Index {
	x := &Index{Version: version, services: services, byCode: make(map[int]int32, len(services)),
		gramWords: map[gram][]int32{}, nameStart: make([]int32, 1, len(services)+1)}
	ids := map[string]int32{}
	var text, nfd []byte
	var grams []gram
	for i, sv := range services {
		x.byCode[sv.Code] = int32(i)
		text = appendNormalized(text[:0], &nfd, sv.NameEN+" "+sv.NameSW)
		first := len(x.nameWords)
		for w, rest := nextWord(text); len(w) > 0; w, rest = nextWord(rest) {
			id, ok := ids[string(w)]
			if !ok {
				id = int32(len(x.vocab))
				ids[string(w)] = id
				x.vocab = append(x.vocab, string(w))
				x.wordNames = append(x.wordNames, nil)
				grams = appendGrams(grams[:0], w)
				for k, g := range grams {
					if !slices.Contains(grams[:k], g) {
						x.gramWords[g] = append(x.gramWords[g], id)
					}
				}
			}
			// A word twice in a name ("Nairobi" in both languages)
			// changes neither its trigrams nor its best word.
			if !slices.Contains(x.nameWords[first:], id) {
				x.nameWords = append(x.nameWords, id)
				x.wordNames[id] = append(x.wordNames[id], int32(i))
			}
		}
		x.nameStart = append(x.nameStart, int32(len(x.nameWords)))
	}
	x.linkWords()
	return x
}

// linkWords fills in, for each vocabulary word, the other words that
// share a name with it.
func (x *Index) linkWords() {
	x.coStart = make([]int32, 1, len(x.vocab)+1)
	seen := make([]int32, len(x.vocab)) // w+1 where word w last noted it
	for w, names := range x.wordNames {
		for _, p := range names {
			for _, u := range x.nameWords[x.nameStart[p]:x.nameStart[p+1]] {
				if int(u) != w && seen[u] != int32(w+1) {
					seen[u] = int32(w + 1)
					x.co = append(x.co, u)
				}
			}
		}
		x.coStart = append(x.coStart, int32(len(x.co)))
	}
}

// Search returns up to limit services best matching q: a service code
// typed as the query first, then by similarity, ties by code.
//
// Which services are scored follows the rule the index has always had,
// and its answers are held to: a service must share at least 40% of the
// query's distinct trigrams, and of those only the maxScored sharing the
// most are scored (ties to the earlier position), since shared trigrams
// predict the score closely and common words would otherwise mean
// scoring thousands. (The rule is a shortcut, not a bound: "ab cdefghij"
// scores 0.5 against "ab" with 3 of 12 trigrams shared, and is not found.)
//
// Search finds those maxScored without counting every service: it reads
// the names of the query's vocabulary words in turn and stops as soon as
// the words still unread cannot add up to a count that would make the
// cut; the answers are the same as counting them all
// (TestSearchMatchesReference compares it with the old implementation).
func (x *Index) Search(q string, limit int) []huduma.Service {
	sc := x.scratch()
	defer x.pool.Put(sc)
	code, hits := x.find(sc, q, limit)
	switch {
	case code >= 0:
		return []huduma.Service{x.services[code]}
	case hits == nil:
		return nil
	}
	out := make([]huduma.Service, len(hits))
	for i, h := range hits {
		out[i] = x.services[h.pos]
	}
	return out
}

// find answers Search in sc: the position of the service whose code q
// is, or -1 and the hits (nil when q has no words or limit is not
// positive).
func (x *Index) find(sc *scratch, q string, limit int) (code int32, hits []hit) {
	if len(q) > 100 {
		q = q[:100]
	}
	if limit <= 0 || !sc.q.prepare(q) {
		return -1, nil
	}
	if s := strings.TrimSpace(q); maybeInt(s) {
		if n, err := strconv.Atoi(s); err == nil {
			if i, ok := x.byCode[n]; ok {
				return i, nil
			}
		}
	}
	return -1, x.search(sc, limit)
}

// maybeInt reports whether strconv.Atoi could accept s, [+-]?[0-9]+, so
// that word queries skip the error value Atoi would allocate.
func maybeInt(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// scratch is one search's working memory, pooled so a search allocates
// only its result. slot is as long as the vocabulary and is left all
// zero after each search.
type scratch struct {
	q query
	// slot is, for each vocabulary word, 0 or 1 + its rank among the
	// words sharing a trigram with the query (rel).
	slot []int32
	// table is, for each vocabulary word, its mask and done mark (see
	// candidates), stride words a word; all zero after a search.
	table  []uint64
	rel    []relWord
	masks  []uint64 // rank r's trigrams in common with the query: masks[r*stride:][:stride]
	sorted []uint64 // masks while they are put in rank order
	// suffix[r] is how many of the query's trigrams the words of rank r
	// and after have between them: a bound on the count of any name that
	// has none of the words ranked before r.
	suffix []int
	acc    []uint64
	heap   []entry
	vals   []float64 // memoised query.value: rank r's at vals[r*len(q.words):]
	valued []bool    // whether rank r's vals are filled in
	best   []float64
	hits   []hit
}

// relWord is a vocabulary word sharing a trigram with the query.
type relWord struct {
	w     int32 // vocabulary id
	at    int32 // its mask's index in scratch.masks before ranking
	pop   int   // how many of the query's trigrams it has
	names int   // how many names have it
}

// entry is a candidate, packed so that a better candidate is a larger
// number: how many of the query's trigrams its name has in the high 32
// bits, and its position inverted in the low ones (an earlier position
// wins a tie).
type entry uint64

func mkEntry(count int, pos int32) entry { return entry(count)<<32 | entry(^uint32(pos)) }

func (e entry) count() int { return int(e >> 32) }
func (e entry) pos() int32 { return int32(^uint32(e)) }

// hit is a scored candidate.
type hit struct {
	score float64
	code  int
	pos   int32
}

func (x *Index) scratch() *scratch {
	if sc, ok := x.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{slot: make([]int32, len(x.vocab)), table: make([]uint64, len(x.vocab)),
		heap: make([]entry, 0, maxScored), hits: make([]hit, 0, maxScored)}
}

// search ranks the services for the prepared query sc.q and returns the
// best limit hits, in order.
func (x *Index) search(sc *scratch, limit int) []hit {
	q := &sc.q
	st := q.stride
	defer func() {
		for _, r := range sc.rel {
			sc.slot[r.w] = 0
			clear(sc.table[int(r.w)*st:][:st])
		}
	}()
	x.related(sc)
	top := x.candidates(sc, (len(q.grams)*2+4)/5)

	nd := len(q.words)
	sc.vals = grow(sc.vals, len(sc.rel)*nd)
	sc.valued = grow(sc.valued, len(sc.rel))
	sc.best = grow(sc.best, nd)
	hits := sc.hits[:0]
	for _, e := range top {
		best := sc.best
		clear(best)
		p := e.pos()
		for _, w := range x.nameWords[x.nameStart[p]:x.nameStart[p+1]] {
			s := sc.slot[w]
			if s == 0 {
				continue // no trigram in common: 0 for every query word
			}
			r := int(s - 1)
			vals := sc.vals[r*nd:][:nd]
			if !sc.valued[r] {
				for j := range vals {
					vals[j] = q.value(j, x.vocab[w], sc.masks[r*st:][:st])
				}
				sc.valued[r] = true
			}
			for j, v := range vals {
				best[j] = max(best[j], v)
			}
		}
		if score := q.mean(best); score >= minScore {
			hits = append(hits, hit{score, x.services[p].Code, p})
		}
	}
	slices.SortFunc(hits, byRank)
	sc.hits = hits
	return hits[:min(limit, len(hits))]
}

// related fills sc.rel, sc.masks and sc.slot with the vocabulary words
// sharing a trigram with the query, ranked, and sc.suffix with their
// bounds. The ranking only decides how soon candidates stops, never what
// it returns.
func (x *Index) related(sc *scratch) {
	q := &sc.q
	st := q.stride
	sc.rel, sc.masks = sc.rel[:0], sc.masks[:0]
	for i, g := range q.grams {
		for _, w := range x.gramWords[g] {
			s := sc.slot[w]
			if s == 0 {
				sc.rel = append(sc.rel, relWord{w: w, at: int32(len(sc.rel)), names: len(x.wordNames[w])})
				s = int32(len(sc.rel))
				sc.slot[w] = s
				for range st {
					sc.masks = append(sc.masks, 0)
				}
			}
			sc.masks[int(s-1)*st+i/64] |= 1 << (i % 64)
		}
	}
	for k := range sc.rel {
		sc.rel[k].pop = popcount(sc.masks[k*st:][:st])
	}
	// Fewest names per trigram first: the cheapest words to read for
	// what they add to a count, so the cut rises before the long lists.
	slices.SortFunc(sc.rel, func(a, b relWord) int {
		return cmp.Or(cmp.Compare(a.names*b.pop, b.names*a.pop), cmp.Compare(b.pop, a.pop), cmp.Compare(a.w, b.w))
	})
	sc.sorted = sc.sorted[:0]
	for r, rw := range sc.rel {
		sc.slot[rw.w] = int32(r + 1)
		sc.sorted = append(sc.sorted, sc.masks[int(rw.at)*st:][:st]...)
	}
	sc.masks, sc.sorted = sc.sorted, sc.masks
	sc.suffix = grow(sc.suffix, len(sc.rel)+1)
	sc.acc = grow(sc.acc, st)
	for r := len(sc.rel) - 1; r >= 0; r-- {
		for k, m := range sc.masks[r*st:][:st] {
			sc.acc[k] |= m
		}
		sc.suffix[r] = popcount(sc.acc)
	}
}

// candidates returns the services Search scores: of those sharing at
// least need of the query's trigrams, the maxScored sharing the most,
// ties to the earlier position (in no particular order).
//
// It keeps the best so far in a heap whose root is the worst of them,
// and reads the names of each related word in rank order. A name with a
// word of an earlier rank was already counted there (or ruled out), so
// the unread names when rank r begins have only words of rank r and
// after, and share at most suffix[r] trigrams with the query. Once that
// cannot reach need, or cannot beat the root when the heap is full,
// nothing unread can make the cut. The names of rank r's own word are
// bounded tighter by wordBound, and skipped when that bound cannot make
// the cut; and as positions ascend in a word's list, once the bound
// could at most tie the root, the names after the root's position
// cannot make it either. The root only gets better, so whatever is
// ruled out stays out.
func (x *Index) candidates(sc *scratch, need int) []entry {
	// A word's mask is copied into table, where a bit past the query's
	// trigrams marks a word whose rank is done: counting a name is then
	// an OR per word, with no branch, and one test.
	st := sc.q.stride
	done := doneMark{word: len(sc.q.grams) / 64, bit: 1 << (len(sc.q.grams) % 64)}
	if len(sc.table) < len(x.vocab)*st {
		sc.table = make([]uint64, len(x.vocab)*st)
	}
	for r, rw := range sc.rel {
		copy(sc.table[int(rw.w)*st:][:st], sc.masks[r*st:][:st])
	}
	// Locals, so the loop below need not reload them through x and sc.
	table, nameWords, nameStart := sc.table, x.nameWords, x.nameStart
	h := sc.heap[:0]
	for r, rw := range sc.rel {
		if r > 0 {
			table[int(sc.rel[r-1].w)*st+done.word] |= done.bit
		}
		bound := sc.suffix[r]
		if bound < need || len(h) == maxScored && bound < h[0].count() {
			break
		}
		// Tighter for this word's own names: only the words they can
		// have with it count.
		if bound = x.wordBound(sc, r); bound < need || len(h) == maxScored && bound < h[0].count() {
			continue
		}
		for _, p := range x.wordNames[rw.w] {
			if len(h) == maxScored && mkEntry(bound, p) < h[0] {
				break // this name and the rest of the list cannot beat the root
			}
			var c int
			if st == 1 { // all but the longest queries: kept inline
				var acc uint64
				for _, w := range nameWords[nameStart[p]:nameStart[p+1]] {
					acc |= table[w]
				}
				if acc&done.bit != 0 {
					continue // counted at an earlier rank
				}
				c = bits.OnesCount64(acc)
			} else if c = x.count(sc, p, done); c < 0 {
				continue
			}
			if c < need {
				continue
			}
			// The counters were bytes once and stopped at 255; a
			// 100-byte query has far fewer trigrams, but keep the rule.
			e := mkEntry(min(c, 255), p)
			switch {
			case len(h) < maxScored:
				h = append(h, e)
				up(h, len(h)-1)
			case e > h[0]:
				h[0] = e
				down(h)
			}
		}
	}
	sc.heap = h
	return h
}

// wordBound returns how many of the query's trigrams a name could share
// that has the word of rank r and no word ranked before it: the trigrams
// of that word and of the words of later rank that share a name with it.
func (x *Index) wordBound(sc *scratch, r int) int {
	st := sc.q.stride
	w := sc.rel[r].w
	acc := sc.acc
	copy(acc, sc.masks[r*st:][:st])
	for _, u := range x.co[x.coStart[w]:x.coStart[w+1]] {
		if s := int(sc.slot[u]); s > r+1 {
			for k, m := range sc.masks[(s-1)*st:][:st] {
				acc[k] |= m
			}
		}
	}
	return popcount(acc)
}

// doneMark locates the bit of scratch.table that marks a word's rank done.
type doneMark struct {
	word int
	bit  uint64
}

// count returns how many of the query's trigrams the name at p has, or
// -1 when one of its words' ranks is done (it was counted then), for
// queries whose masks take several words.
func (x *Index) count(sc *scratch, p int32, d doneMark) int {
	st := sc.q.stride
	acc := sc.acc
	clear(acc)
	for _, w := range x.nameWords[x.nameStart[p]:x.nameStart[p+1]] {
		for k, m := range sc.table[int(w)*st:][:st] {
			acc[k] |= m
		}
	}
	if acc[d.word]&d.bit != 0 {
		return -1
	}
	return popcount(acc)
}

// up and down keep h a heap with the worst candidate at the root.
func up(h []entry, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[i] >= h[p] {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func down(h []entry) {
	i := 0
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1] < h[c] {
			c++
		}
		if h[c] >= h[i] {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// byRank orders hits as Search answers: higher score first, then lower
// code (and position, should two services share a code).
func byRank(a, b hit) int {
	if a.score != b.score {
		return cmp.Compare(b.score, a.score)
	}
	return cmp.Or(cmp.Compare(a.code, b.code), cmp.Compare(a.pos, b.pos))
}

// ByCode returns the active service with code.
func (x *Index) ByCode(code int) (huduma.Service, bool) {
	i, ok := x.byCode[code]
	if !ok {
		return huduma.Service{}, false
	}
	return x.services[i], true
}
