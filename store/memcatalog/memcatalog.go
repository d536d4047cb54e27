// Package memcatalog is the read side of the catalog in memory: one
// immutable Snapshot per catalog version (search, services by code,
// categories, each category's services, the fee table), shared by both
// stores. A USSD hop that shows catalog screens reads only this, never
// the database: that is what keeps such hops fast, and unaffected when
// the database is slow or away.
//
// The Cache notices a new version (an import by another process) by
// asking the database in the background, at most once a second, while
// hops keep answering from the snapshot they have; the importing process
// reloads at once. Lists are sorted by byte order of the English name,
// then code, the same on both backends whatever the database's collation.
package memcatalog

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/trigram"
)

// Snapshot is one catalog version's active services, indexed.
type Snapshot struct {
	// Version is the catalog version it was built from.
	Version    int64
	index      *trigram.Index
	categories []huduma.Category
	byCategory map[string][]huduma.Service
	bands      []huduma.FeeBand
}

// Build indexes a catalog version: its active services (any order), all
// categories (only those with an active service are listed) and the fee
// table (empty: the default one).
func Build(version int64, services []huduma.Service, categories []huduma.Category, bands []huduma.FeeBand) *Snapshot {
	active := make([]huduma.Service, 0, len(services))
	for _, sv := range services {
		if sv.Active {
			active = append(active, sv)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].Code < active[j].Code })
	s := &Snapshot{Version: version, index: trigram.NewIndex(version, active), byCategory: map[string][]huduma.Service{}, bands: bands}
	if len(s.bands) == 0 {
		s.bands = huduma.DefaultFeeBands
	}
	for _, sv := range active {
		s.byCategory[sv.CategoryCode] = append(s.byCategory[sv.CategoryCode], sv)
	}
	for _, list := range s.byCategory {
		sort.Slice(list, func(i, j int) bool {
			if list[i].NameEN != list[j].NameEN {
				return list[i].NameEN < list[j].NameEN
			}
			return list[i].Code < list[j].Code
		})
	}
	for _, c := range categories {
		if len(s.byCategory[c.Code]) > 0 {
			s.categories = append(s.categories, c)
		}
	}
	sort.Slice(s.categories, func(i, j int) bool {
		if s.categories[i].NameEN != s.categories[j].NameEN {
			return s.categories[i].NameEN < s.categories[j].NameEN
		}
		return s.categories[i].Code < s.categories[j].Code
	})
	return s
}

// Search ranks active services by name against q (store/trigram).
func (s *Snapshot) Search(q string, limit int) []huduma.Service {
	if trigram.Blank(q) || limit <= 0 {
		return nil
	}
	return s.index.Search(q, limit)
}

// ServiceByCode returns an active service, or an error wrapping
// huduma.ErrNotFound.
func (s *Snapshot) ServiceByCode(code int) (huduma.Service, error) {
	sv, ok := s.index.ByCode(code)
	if !ok {
		return huduma.Service{}, fmt.Errorf("service %d: %w", code, huduma.ErrNotFound)
	}
	return sv, nil
}

// Categories lists categories that have an active service.
func (s *Snapshot) Categories() []huduma.Category { return s.categories }

// ServicesInCategory pages through a category's active services.
func (s *Snapshot) ServicesInCategory(category string, offset, limit int) []huduma.Service {
	list := s.byCategory[category]
	offset = max(offset, 0)
	if offset >= len(list) || limit <= 0 {
		return nil
	}
	return list[offset:min(len(list), offset+limit)]
}

// FeeBands returns the convenience-fee table.
func (s *Snapshot) FeeBands() []huduma.FeeBand { return s.bands }

// Loader reads a catalog from its database.
type Loader interface {
	// CatalogVersion is the version an import moves.
	CatalogVersion(ctx context.Context) (int64, error)
	// LoadCatalog returns the version and what a snapshot of it holds,
	// reading the version first: data newer than its version only costs
	// a reload at the next check, data older than it would never be
	// replaced.
	LoadCatalog(ctx context.Context) (version int64, services []huduma.Service, categories []huduma.Category, bands []huduma.FeeBand, err error)
}

// checkEvery is how long the cache trusts the version it last read: an
// import on another process is served here within about this time.
const checkEvery = time.Second

// checkTimeout bounds one background version check or reload.
const checkTimeout = 10 * time.Second

// Cache holds the newest snapshot a store has seen.
type Cache struct {
	cur      atomic.Pointer[Snapshot]
	checked  atomic.Int64 // unix ns of the last version check
	checking atomic.Bool
	mu       sync.Mutex // one load at a time
	log      *slog.Logger
}

// SetLogger names where background refresh failures are reported.
func (c *Cache) SetLogger(log *slog.Logger) { c.log = log }

// Get returns the current snapshot. Only the first call (nothing loaded
// yet) waits on the database; later calls return at once and, when the
// version was last checked over a second ago, check it in the background.
func (c *Cache) Get(ctx context.Context, l Loader) (*Snapshot, error) {
	if s := c.cur.Load(); s != nil {
		if time.Now().UnixNano()-c.checked.Load() > int64(checkEvery) && c.checking.CompareAndSwap(false, true) {
			go c.refresh(l)
		}
		return s, nil
	}
	if err := c.Reload(ctx, l); err != nil {
		return nil, err
	}
	return c.cur.Load(), nil
}

// refresh checks the version and reloads when it moved.
func (c *Cache) refresh(l Loader) {
	defer c.checking.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	v, err := l.CatalogVersion(ctx)
	if err == nil {
		c.checked.Store(time.Now().UnixNano())
		if s := c.cur.Load(); s != nil && s.Version == v {
			return
		}
		err = c.Reload(ctx, l)
	}
	if err != nil && c.log != nil {
		c.log.Warn("catalog refresh failed; still answering from the catalog in memory", "error", err)
	}
}

// Reload loads the catalog now (after an import, or at first use).
func (c *Cache) Reload(ctx context.Context, l Loader) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, svcs, cats, bands, err := l.LoadCatalog(ctx)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	c.cur.Store(Build(v, svcs, cats, bands))
	c.checked.Store(time.Now().UnixNano())
	return nil
}
