package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/trigram"
)

// ImportCatalog implements store.CatalogStore.
func (s *Store) ImportCatalog(ctx context.Context, c huduma.Catalog) (int, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin import: %w", err)
	}
	defer tx.Rollback()
	for _, a := range c.Agencies {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agencies (code, name) VALUES (?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name`, a.Code, a.Name); err != nil {
			return 0, fmt.Errorf("import agency %s: %w", a.Code, err)
		}
	}
	for _, k := range c.Categories {
		if _, err := tx.ExecContext(ctx, `INSERT INTO categories (code, name_en, name_sw) VALUES (?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en, name_sw = excluded.name_sw`,
			k.Code, k.NameEN, k.NameSW); err != nil {
			return 0, fmt.Errorf("import category %s: %w", k.Code, err)
		}
	}
	for _, sv := range c.Services {
		inputs, err := json.Marshal(nonNil(sv.Inputs))
		if err != nil {
			return 0, fmt.Errorf("encode inputs of %d: %w", sv.Code, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO services (code, name_en, name_sw, agency_code, category_code, fee, inputs, active)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en, name_sw = excluded.name_sw,
			agency_code = excluded.agency_code, category_code = excluded.category_code, fee = excluded.fee,
			inputs = excluded.inputs, active = excluded.active`,
			sv.Code, sv.NameEN, sv.NameSW, sv.AgencyCode, sv.CategoryCode, sv.Fee, string(inputs), sv.Active); err != nil {
			return 0, fmt.Errorf("import service %d: %w", sv.Code, err)
		}
	}
	if len(c.FeeBands) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM fee_bands`); err != nil {
			return 0, fmt.Errorf("replace fee bands: %w", err)
		}
		for _, b := range c.FeeBands {
			if _, err := tx.ExecContext(ctx, `INSERT INTO fee_bands (min, fee) VALUES (?, ?)`, b.Min, b.Fee); err != nil {
				return 0, fmt.Errorf("import fee band %d: %w", b.Min, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE catalog_meta SET sample = ?, version = version + 1 WHERE id = 1`, c.Sample); err != nil {
		return 0, fmt.Errorf("bump catalog version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit import: %w", err)
	}
	return len(c.Services), nil
}

func nonNil(in []huduma.Input) []huduma.Input {
	if in == nil {
		return []huduma.Input{}
	}
	return in
}

// ExportCatalog implements store.CatalogStore.
func (s *Store) ExportCatalog(ctx context.Context) (huduma.Catalog, error) {
	var c huduma.Catalog
	if err := s.db.QueryRowContext(ctx, `SELECT sample FROM catalog_meta WHERE id = 1`).Scan(&c.Sample); err != nil {
		return c, fmt.Errorf("read catalog meta: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT code, name FROM agencies ORDER BY code`)
	if err != nil {
		return c, fmt.Errorf("export agencies: %w", err)
	}
	for rows.Next() {
		var a huduma.Agency
		if err := rows.Scan(&a.Code, &a.Name); err != nil {
			rows.Close()
			return c, fmt.Errorf("export agencies: %w", err)
		}
		c.Agencies = append(c.Agencies, a)
	}
	rows.Close()
	if c.Categories, err = s.categories(ctx, `SELECT code, name_en, name_sw FROM categories ORDER BY code`); err != nil {
		return c, err
	}
	if c.Services, err = s.services(ctx, serviceCols+` ORDER BY s.code`); err != nil {
		return c, err
	}
	bands, err := s.feeBands(ctx)
	if err != nil {
		return c, err
	}
	c.FeeBands = bands
	return c, rows.Err()
}

// ServiceCount implements store.CatalogStore.
func (s *Store) ServiceCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil {
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
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	defer rows.Close()
	var out []huduma.Category
	for rows.Next() {
		var k huduma.Category
		if err := rows.Scan(&k.Code, &k.NameEN, &k.NameSW); err != nil {
			return nil, fmt.Errorf("list categories: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

const serviceCols = `SELECT s.code, s.name_en, s.name_sw, s.agency_code, s.category_code, s.fee, s.inputs, s.active, a.name
	FROM services s JOIN agencies a ON a.code = s.agency_code`

func (s *Store) services(ctx context.Context, q string, args ...any) ([]huduma.Service, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query services: %w", err)
	}
	defer rows.Close()
	var out []huduma.Service
	for rows.Next() {
		sv, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}

func scanService(r interface{ Scan(...any) error }) (huduma.Service, error) {
	var sv huduma.Service
	var inputs string
	if err := r.Scan(&sv.Code, &sv.NameEN, &sv.NameSW, &sv.AgencyCode, &sv.CategoryCode, &sv.Fee, &inputs, &sv.Active, &sv.AgencyName); err != nil {
		return sv, err
	}
	if err := json.Unmarshal([]byte(inputs), &sv.Inputs); err != nil {
		return sv, fmt.Errorf("decode inputs of service %d: %w", sv.Code, err)
	}
	if len(sv.Inputs) == 0 {
		sv.Inputs = nil
	}
	return sv, nil
}

// ServicesInCategory implements store.CatalogStore.
func (s *Store) ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error) {
	return s.services(ctx, serviceCols+` WHERE s.category_code = ? AND s.active ORDER BY s.name_en, s.code LIMIT ? OFFSET ?`,
		category, limit, max(offset, 0))
}

// ServiceByCode implements store.CatalogStore.
func (s *Store) ServiceByCode(ctx context.Context, code int) (huduma.Service, error) {
	sv, err := scanService(s.db.QueryRowContext(ctx, serviceCols+` WHERE s.code = ? AND s.active`, code))
	if err != nil {
		return huduma.Service{}, notFound(fmt.Sprintf("service %d", code), err)
	}
	return sv, nil
}

// FeeBands implements store.CatalogStore.
func (s *Store) FeeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	bands, err := s.feeBands(ctx)
	if err != nil || len(bands) > 0 {
		return bands, err
	}
	return huduma.DefaultFeeBands, nil
}

func (s *Store) feeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT min, fee FROM fee_bands ORDER BY min`)
	if err != nil {
		return nil, fmt.Errorf("read fee bands: %w", err)
	}
	defer rows.Close()
	var out []huduma.FeeBand
	for rows.Next() {
		var b huduma.FeeBand
		if err := rows.Scan(&b.Min, &b.Fee); err != nil {
			return nil, fmt.Errorf("read fee bands: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SearchServices implements store.CatalogStore with the in-process
// trigram index (store/trigram), rebuilt when the catalog version moves.
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

// currentIndex returns the index, rebuilding it when the catalog version
// in the database moved (an import by this or another process).
func (s *Store) currentIndex(ctx context.Context) (*trigram.Index, error) {
	var version int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM catalog_meta WHERE id = 1`).Scan(&version); err != nil {
		return nil, fmt.Errorf("read catalog version: %w", err)
	}
	return s.index.For(version, func() ([]huduma.Service, error) {
		return s.services(ctx, serviceCols+` WHERE s.active ORDER BY s.code`)
	})
}
