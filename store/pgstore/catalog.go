package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/trigram"
)

// ImportCatalog implements store.CatalogStore.
func (s *Store) ImportCatalog(ctx context.Context, c huduma.Catalog) (int, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, a := range c.Agencies {
			b.Queue(`INSERT INTO agencies (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name`, a.Code, a.Name)
		}
		for _, k := range c.Categories {
			b.Queue(`INSERT INTO categories (code, name_en, name_sw) VALUES ($1, $2, $3)
				ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en, name_sw = excluded.name_sw`, k.Code, k.NameEN, k.NameSW)
		}
		for _, sv := range c.Services {
			inputs := sv.Inputs
			if inputs == nil {
				inputs = []huduma.Input{}
			}
			raw, err := json.Marshal(inputs)
			if err != nil {
				return fmt.Errorf("encode inputs of %d: %w", sv.Code, err)
			}
			b.Queue(`INSERT INTO services (code, name_en, name_sw, agency_code, category_code, fee, inputs, active)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en, name_sw = excluded.name_sw,
				agency_code = excluded.agency_code, category_code = excluded.category_code, fee = excluded.fee,
				inputs = excluded.inputs, active = excluded.active`,
				sv.Code, sv.NameEN, sv.NameSW, sv.AgencyCode, sv.CategoryCode, sv.Fee, string(raw), sv.Active)
		}
		if len(c.FeeBands) > 0 {
			b.Queue(`DELETE FROM fee_bands`)
			for _, fb := range c.FeeBands {
				b.Queue(`INSERT INTO fee_bands (min, fee) VALUES ($1, $2)`, fb.Min, fb.Fee)
			}
		}
		b.Queue(`UPDATE catalog_meta SET sample = $1, version = version + 1 WHERE id = 1`, c.Sample)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("import catalog: %w", err)
	}
	s.checked.Store(0) // the next search reads the new version
	return len(c.Services), nil
}

// ExportCatalog implements store.CatalogStore.
func (s *Store) ExportCatalog(ctx context.Context) (huduma.Catalog, error) {
	var c huduma.Catalog
	if err := s.pool.QueryRow(ctx, `SELECT sample FROM catalog_meta WHERE id = 1`).Scan(&c.Sample); err != nil {
		return c, fmt.Errorf("read catalog meta: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT code, name FROM agencies ORDER BY code`)
	agencies, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (huduma.Agency, error) {
		var a huduma.Agency
		return a, r.Scan(&a.Code, &a.Name)
	})
	if err != nil {
		return c, fmt.Errorf("export agencies: %w", err)
	}
	c.Agencies = agencies
	if c.Categories, err = s.categories(ctx, `SELECT code, name_en, name_sw FROM categories ORDER BY code`); err != nil {
		return c, err
	}
	if c.Services, err = s.services(ctx, serviceCols+` ORDER BY s.code`); err != nil {
		return c, err
	}
	c.FeeBands, err = s.feeBands(ctx)
	return c, err
}

// ServiceCount implements store.CatalogStore.
func (s *Store) ServiceCount(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count services: %w", err)
	}
	return n, nil
}

// Categories implements store.CatalogStore.
func (s *Store) Categories(ctx context.Context) ([]huduma.Category, error) {
	return s.categories(ctx, `SELECT c.code, c.name_en, c.name_sw FROM categories c
		WHERE EXISTS (SELECT 1 FROM services s WHERE s.category_code = c.code AND s.active)
		ORDER BY c.name_en, c.code`)
}

func (s *Store) categories(ctx context.Context, q string) ([]huduma.Category, error) {
	rows, _ := s.pool.Query(ctx, q)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (huduma.Category, error) {
		var k huduma.Category
		return k, r.Scan(&k.Code, &k.NameEN, &k.NameSW)
	})
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return out, nil
}

const serviceCols = `SELECT s.code, s.name_en, s.name_sw, s.agency_code, s.category_code, s.fee, s.inputs, s.active, a.name
	FROM services s JOIN agencies a ON a.code = s.agency_code`

func scanService(r pgx.Row) (huduma.Service, error) {
	var sv huduma.Service
	var inputs []byte
	if err := r.Scan(&sv.Code, &sv.NameEN, &sv.NameSW, &sv.AgencyCode, &sv.CategoryCode, &sv.Fee, &inputs, &sv.Active, &sv.AgencyName); err != nil {
		return sv, err
	}
	if err := json.Unmarshal(inputs, &sv.Inputs); err != nil {
		return sv, fmt.Errorf("decode inputs of service %d: %w", sv.Code, err)
	}
	if len(sv.Inputs) == 0 {
		sv.Inputs = nil
	}
	return sv, nil
}

func (s *Store) services(ctx context.Context, q string, args ...any) ([]huduma.Service, error) {
	rows, _ := s.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (huduma.Service, error) { return scanService(r) })
	if err != nil {
		return nil, fmt.Errorf("query services: %w", err)
	}
	return out, nil
}

// ServicesInCategory implements store.CatalogStore.
func (s *Store) ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error) {
	return s.services(ctx, serviceCols+` WHERE s.category_code = $1 AND s.active ORDER BY s.name_en, s.code LIMIT $2 OFFSET $3`,
		category, limit, max(offset, 0))
}

// ServiceByCode implements store.CatalogStore.
// It answers from the search index (same catalog version, same freshness),
// sparing a query on the hops that show a service.
func (s *Store) ServiceByCode(ctx context.Context, code int) (huduma.Service, error) {
	idx, err := s.currentIndex(ctx)
	if err != nil {
		return huduma.Service{}, err
	}
	sv, ok := idx.ByCode(code)
	if !ok {
		return huduma.Service{}, fmt.Errorf("service %d: %w", code, huduma.ErrNotFound)
	}
	return sv, nil
}

// FeeBands implements store.CatalogStore.
// The bands are read with the search index, as they change only with a
// catalog import (which moves the version), so a confirm screen costs no
// query.
func (s *Store) FeeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	if _, err := s.currentIndex(ctx); err != nil {
		return nil, err
	}
	if b := *s.bands.Load(); len(b) > 0 {
		return b, nil
	}
	return huduma.DefaultFeeBands, nil
}

func (s *Store) feeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	rows, _ := s.pool.Query(ctx, `SELECT min, fee FROM fee_bands ORDER BY min`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (huduma.FeeBand, error) {
		var b huduma.FeeBand
		return b, r.Scan(&b.Min, &b.Fee)
	})
	if err != nil {
		return nil, fmt.Errorf("read fee bands: %w", err)
	}
	return out, nil
}

// versionTTL is how long a search trusts the catalog version it last
// read before asking Postgres again: an import on another instance is
// searchable here within this time (on the importing instance at once).
const versionTTL = time.Second

// SearchServices implements store.CatalogStore with the in-process trigram
// index (store/trigram), the same ranking the embedded store uses. Search
// is the hot hop; answering it from memory instead of a pg_trgm query
// took it from about 12 ms to well under one (docs/performance.md).
func (s *Store) SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error) {
	if trigram.Blank(q) || limit <= 0 {
		return nil, nil
	}
	idx, err := s.currentIndex(ctx)
	if err != nil {
		return nil, err
	}
	return idx.Search(q, limit), nil
}

// currentIndex returns the search index, rebuilding it when the catalog
// version in the database moved.
func (s *Store) currentIndex(ctx context.Context) (*trigram.Index, error) {
	idx := s.index.Current()
	if idx != nil && time.Now().UnixNano() < s.checked.Load()+int64(versionTTL) {
		return idx, nil
	}
	var version int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM catalog_meta WHERE id = 1`).Scan(&version); err != nil {
		if idx != nil {
			// The catalog cannot have changed in a way we could read:
			// keep answering from memory while Postgres is away.
			return idx, nil
		}
		return nil, fmt.Errorf("read catalog version: %w", err)
	}
	idx, err := s.index.For(version, func() ([]huduma.Service, error) {
		svcs, err := s.services(ctx, serviceCols+` WHERE s.active ORDER BY s.code`)
		if err != nil {
			return nil, err
		}
		bands, err := s.feeBands(ctx)
		if err != nil {
			return nil, err
		}
		s.bands.Store(&bands) // before the index, so a reader never sees one without the other
		return svcs, nil
	})
	if err == nil {
		s.checked.Store(time.Now().UnixNano())
	}
	return idx, err
}
