package trigram

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/huduma-ke/huduma"
)

// Index is an immutable in-memory search index over a catalog version's
// active services. A catalog of 14,000 services takes a few megabytes and
// answers in well under a millisecond, which a database round trip cannot;
// both stores keep one and rebuild it when the catalog version moves.
type Index struct {
	// Version is the catalog version the index was built from.
	Version  int64
	services []huduma.Service
	names    []Name
	// grams maps a trigram to the positions of services containing it.
	grams map[string][]int32
	// byCode maps a service code to its position.
	byCode map[int]int32
	pool   sync.Pool
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
	x := &Index{Version: version, services: services, names: make([]Name, len(services)), grams: map[string][]int32{},
		byCode: make(map[int]int32, len(services))}
	for i, sv := range services {
		x.byCode[sv.Code] = int32(i)
		name := sv.NameEN + " " + sv.NameSW
		x.names[i] = Prepare(name)
		for g := range Of(name) {
			x.grams[g] = append(x.grams[g], int32(i))
		}
	}
	return x
}

// Search returns up to limit services best matching q: a service code
// typed as the query first, then by similarity, ties by code.
func (x *Index) Search(q string, limit int) []huduma.Service {
	if len(q) > 100 {
		q = q[:100]
	}
	if Normalize(q) == "" || limit <= 0 {
		return nil
	}
	if code, err := strconv.Atoi(strings.TrimSpace(q)); err == nil {
		if sv, ok := x.ByCode(code); ok {
			return []huduma.Service{sv}
		}
	}
	query := PrepareQuery(q)
	// counts is per-search scratch as long as the catalog; pooled, and
	// cleared through touched afterwards rather than reallocated.
	counts := x.scratch()
	defer x.release(counts)
	var touched []int32
	defer func() {
		for _, i := range touched {
			counts[i] = 0
		}
	}()
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
	// minScore; skip scoring it.
	need := (len(query.All)*2 + 4) / 5
	cands := make([]int32, 0, len(touched)) // not touched[:0]: touched clears the pooled counts
	for _, i := range touched {
		if int(counts[i]) >= need {
			cands = append(cands, i)
		}
	}
	// Shared trigrams predict the score closely; scoring only the best
	// maxScored candidates bounds the work for common words.
	if len(cands) > maxScored {
		sort.Slice(cands, func(a, b int) bool {
			if counts[cands[a]] != counts[cands[b]] {
				return counts[cands[a]] > counts[cands[b]]
			}
			return cands[a] < cands[b]
		})
		cands = cands[:maxScored]
	}
	type hit struct {
		i     int32
		score float64
	}
	var hits []hit
	for _, i := range cands {
		if sc := query.Score(x.names[i]); sc >= minScore {
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
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, x.services[h.i])
	}
	return out
}

func (x *Index) scratch() []uint8 {
	if c, ok := x.pool.Get().([]uint8); ok {
		return c
	}
	return make([]uint8, len(x.services))
}

func (x *Index) release(c []uint8) { x.pool.Put(c) }

// ByCode returns the active service with code.
func (x *Index) ByCode(code int) (huduma.Service, bool) {
	i, ok := x.byCode[code]
	if !ok {
		return huduma.Service{}, false
	}
	return x.services[i], true
}

// Cache holds the index of the newest catalog version a store has seen,
// rebuilding it once (not once per racing search) when the version moves.
type Cache struct {
	index atomic.Pointer[Index]
	mu    sync.Mutex
}

// Current returns the cached index, whatever its version (nil at first).
func (c *Cache) Current() *Index { return c.index.Load() }

// For returns the index of version, building it from load's services
// when the cached one is older.
func (c *Cache) For(version int64, load func() ([]huduma.Service, error)) (*Index, error) {
	if idx := c.index.Load(); idx != nil && idx.Version == version {
		return idx, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx := c.index.Load(); idx != nil && idx.Version == version {
		return idx, nil
	}
	svcs, err := load()
	if err != nil {
		return nil, err
	}
	idx := NewIndex(version, svcs)
	c.index.Store(idx)
	return idx, nil
}
