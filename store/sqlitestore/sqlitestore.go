// Package sqlitestore opens the embedded store: one SQLite file (pure Go,
// modernc.org/sqlite), used when DATABASE_URL is empty so Huduma runs with
// nothing installed. Everything it stores is written once, for both
// backends, in store/sqlstore; this package brings the file and SQLite's
// migration files.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/huduma-ke/huduma/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Immediate transactions take the write lock at BEGIN, so two
	// processes on one file (a `huduma catalog import` next to a running
	// gateway) queue instead of failing midway.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One connection: SQLite allows one writer at a time, and a single
	// connection turns contention into queueing instead of SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	files, _ := fs.Sub(migrations, "migrations")
	return sqlstore.New(db, sqlstore.SQLite, files, nil), nil
}
