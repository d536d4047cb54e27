// Package pgstore opens the production store: Postgres through pgx v5,
// shared by any number of gateway processes. Everything it stores is
// written once, for both backends, in store/sqlstore; this package brings
// the connection pool and Postgres's migration files.
package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/huduma-ke/huduma/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to url. Pool limits and timeouts can be set in the URL
// (pool_max_conns, connect_timeout, search_path, ...), and several hosts
// with target_session_attrs=read-write find the primary of a replicated
// pair.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx defaults to max(4, CPUs) connections; the outbox and job
		// workers and the hop handlers together wait on that many, so a
		// small machine would queue on its own pool (docs/performance.md).
		cfg.MaxConns = 20
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	files, _ := fs.Sub(migrations, "migrations")
	db := stdlib.OpenDBFromPool(pool)
	return sqlstore.New(db, sqlstore.Postgres, files, func() error {
		err := db.Close()
		pool.Close()
		return err
	}), nil
}
