package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/huduma-ke/huduma"
)

// importBatch is how many rows one INSERT carries when a catalog is
// imported: 14,000 services in a few dozen statements, not 14,000 round
// trips.
const importBatch = 500

// ImportCatalog validates c and upserts it in one transaction: services
// are matched by code, agencies and categories by code; services that
// exist but are absent from c are left as they are. It returns how many
// services were written. This process serves the new version from the
// next read on; others notice it within a second (memcatalog).
func (l *DB) ImportCatalog(ctx context.Context, c huduma.Catalog) (int, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		agencies := make([][]any, len(c.Agencies))
		for i, a := range c.Agencies {
			agencies[i] = []any{a.Code, a.Name}
		}
		if err := upsert(ctx, tx, "agencies", []string{"code", "name"}, "code", agencies); err != nil {
			return err
		}
		cats := make([][]any, len(c.Categories))
		for i, k := range c.Categories {
			cats[i] = []any{k.Code, k.NameEN, k.NameSW}
		}
		if err := upsert(ctx, tx, "categories", []string{"code", "name_en", "name_sw"}, "code", cats); err != nil {
			return err
		}
		svcs := make([][]any, len(c.Services))
		for i, sv := range c.Services {
			inputs := sv.Inputs
			if inputs == nil {
				inputs = []huduma.Input{}
			}
			raw, err := json.Marshal(inputs)
			if err != nil {
				return fmt.Errorf("encode inputs of %d: %w", sv.Code, err)
			}
			svcs[i] = []any{sv.Code, sv.NameEN, sv.NameSW, sv.AgencyCode, sv.CategoryCode, sv.Fee, string(raw), sv.Active, sv.ECitizenServiceID}
		}
		if err := upsert(ctx, tx, "services", []string{"code", "name_en", "name_sw", "agency_code", "category_code", "fee", "inputs", "active",
			"ecitizen_service_id"}, "code", svcs); err != nil {
			return err
		}
		if len(c.FeeBands) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM fee_bands`); err != nil {
				return fmt.Errorf("replace fee bands: %w", err)
			}
			bands := make([][]any, len(c.FeeBands))
			for i, b := range c.FeeBands {
				bands[i] = []any{b.Min, b.Fee}
			}
			if err := upsert(ctx, tx, "fee_bands", []string{"min", "fee"}, "min", bands); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE catalog_meta SET sample = $1, version = version + 1 WHERE id = 1`, c.Sample); err != nil {
			return fmt.Errorf("bump catalog version: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import catalog: %w", err)
	}
	if err := l.cat.Reload(ctx, l); err != nil {
		return len(c.Services), err
	}
	return len(c.Services), nil
}

// upsert writes rows into table in batches, replacing every column but
// key on a conflict.
func upsert(ctx context.Context, tx *sql.Tx, table string, cols []string, key string, rows [][]any) error {
	var set []string
	for _, c := range cols {
		if c != key {
			set = append(set, c+" = excluded."+c)
		}
	}
	for start := 0; start < len(rows); start += importBatch {
		batch := rows[start:min(len(rows), start+importBatch)]
		var b strings.Builder
		args := make([]any, 0, len(batch)*len(cols))
		for i, r := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, r[j])
				fmt.Fprintf(&b, "$%d", len(args))
			}
			b.WriteByte(')')
		}
		q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES ` + b.String() + ` ON CONFLICT (` + key + `) DO `
		if len(set) == 0 {
			q += `NOTHING`
		} else {
			q += `UPDATE SET ` + strings.Join(set, ", ")
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("import %s: %w", table, err)
		}
	}
	return nil
}

// ExportCatalog returns the whole catalog (inactive services too), sorted
// by code, such that importing it again changes nothing.
func (l *DB) ExportCatalog(ctx context.Context) (huduma.Catalog, error) {
	var c huduma.Catalog
	if err := l.db.QueryRowContext(ctx, `SELECT sample FROM catalog_meta WHERE id = 1`).Scan(&c.Sample); err != nil {
		return c, fmt.Errorf("read catalog meta: %w", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT code, name FROM agencies ORDER BY code`)
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
	if c.Categories, err = l.allCategories(ctx); err != nil {
		return c, err
	}
	if c.Services, err = l.services(ctx, serviceCols+` ORDER BY s.code`); err != nil {
		return c, err
	}
	c.FeeBands, err = l.feeBands(ctx)
	return c, err
}

// ServiceCount counts services, active or not (0 means first start).
func (l *DB) ServiceCount(ctx context.Context) (int, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count services: %w", err)
	}
	return n, nil
}

// allCategories reads the whole categories table.
func (l *DB) allCategories(ctx context.Context) ([]huduma.Category, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT code, name_en, name_sw FROM categories ORDER BY code`)
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

const serviceCols = `SELECT s.code, s.name_en, s.name_sw, s.agency_code, s.category_code, s.fee, s.inputs, s.active, a.name,
	s.ecitizen_service_id FROM services s JOIN agencies a ON a.code = s.agency_code`

func (l *DB) services(ctx context.Context, q string, args ...any) ([]huduma.Service, error) {
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query services: %w", err)
	}
	defer rows.Close()
	var out []huduma.Service
	for rows.Next() {
		var sv huduma.Service
		var inputs string
		if err := rows.Scan(&sv.Code, &sv.NameEN, &sv.NameSW, &sv.AgencyCode, &sv.CategoryCode, &sv.Fee, &inputs, &sv.Active, &sv.AgencyName,
			&sv.ECitizenServiceID); err != nil {
			return nil, fmt.Errorf("query services: %w", err)
		}
		if err := json.Unmarshal([]byte(inputs), &sv.Inputs); err != nil {
			return nil, fmt.Errorf("decode inputs of service %d: %w", sv.Code, err)
		}
		if len(sv.Inputs) == 0 {
			sv.Inputs = nil
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}

func (l *DB) feeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT min, fee FROM fee_bands ORDER BY min`)
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

// SearchServices ranks active services by how well their English or
// Kiswahili name matches q, tolerating typos ("pasport" finds
// passports): at most limit results, best first, ties by code. It is
// answered from memory (memcatalog), like every catalog read below.
func (l *DB) SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error) {
	snap, err := l.cat.Get(ctx, l)
	if err != nil {
		return nil, err
	}
	return snap.Search(q, limit), nil
}

// Categories lists categories that have at least one active service,
// sorted by English name.
func (l *DB) Categories(ctx context.Context) ([]huduma.Category, error) {
	snap, err := l.cat.Get(ctx, l)
	if err != nil {
		return nil, err
	}
	return snap.Categories(), nil
}

// ServicesInCategory pages through a category's active services sorted
// by English name then code.
func (l *DB) ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error) {
	snap, err := l.cat.Get(ctx, l)
	if err != nil {
		return nil, err
	}
	return snap.ServicesInCategory(category, offset, limit), nil
}

// ServiceByCode returns an active service with AgencyName filled in, or
// an error wrapping huduma.ErrNotFound.
func (l *DB) ServiceByCode(ctx context.Context, code int) (huduma.Service, error) {
	snap, err := l.cat.Get(ctx, l)
	if err != nil {
		return huduma.Service{}, err
	}
	return snap.ServiceByCode(code)
}

// FeeBands returns the convenience-fee table (DefaultFeeBands when the
// catalog set none).
func (l *DB) FeeBands(ctx context.Context) ([]huduma.FeeBand, error) {
	snap, err := l.cat.Get(ctx, l)
	if err != nil {
		return nil, err
	}
	return snap.FeeBands(), nil
}

// CatalogVersion implements memcatalog.Loader.
func (l *DB) CatalogVersion(ctx context.Context) (int64, error) {
	var version int64
	if err := l.db.QueryRowContext(ctx, `SELECT version FROM catalog_meta WHERE id = 1`).Scan(&version); err != nil {
		return 0, fmt.Errorf("read catalog version: %w", err)
	}
	return version, nil
}

// LoadCatalog implements memcatalog.Loader.
func (l *DB) LoadCatalog(ctx context.Context) (int64, []huduma.Service, []huduma.Category, []huduma.FeeBand, error) {
	version, err := l.CatalogVersion(ctx)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	svcs, err := l.services(ctx, serviceCols+` WHERE s.active`)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	cats, err := l.allCategories(ctx)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	bands, err := l.feeBands(ctx)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	return version, svcs, cats, bands, nil
}
