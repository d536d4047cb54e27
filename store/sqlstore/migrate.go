package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the backend's migration files not yet applied, in
// number order, each in its own transaction, recorded in
// schema_migrations. Concurrent starts of several processes queue on the
// dialect's lock (Postgres) or on SQLite's one writer.
func (l *DB) Migrate(ctx context.Context) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if l.d.MigrationLock != "" {
		if _, err := conn.ExecContext(ctx, l.d.MigrationLock); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), l.d.MigrationUnlock) //nolint:errcheck // released with the session anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := fs.Glob(l.migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(files)
	seen := map[int]string{}
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number: %w", f, err)
		}
		if other, dup := seen[v]; dup {
			// A second file with one number would be skipped silently.
			return fmt.Errorf("migrations %s and %s share version %d", other, f, v)
		}
		seen[v] = f
		body, err := fs.ReadFile(l.migrations, f)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", f, err)
		}
		if err := l.apply(ctx, conn, v, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	return nil
}

func (l *DB) apply(ctx context.Context, conn *sql.Conn, version int, body string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, ms(l.now())); err != nil {
		return err
	}
	return tx.Commit()
}
