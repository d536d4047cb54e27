// Package pgstore is the production store: Postgres through pgx v5. Any
// number of gateway processes share it. It passes the same conformance
// suite as the embedded sqlitestore.
//
// Every catalog read (search, services by code, categories, the fee
// table) is answered from the catalog in memory (store/memcatalog), the
// same one the embedded store uses, reloaded when the catalog version
// moves: a database round trip per hop was the gateway's bottleneck under
// load, and catalog screens keep working while Postgres is slow or away.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store"
	"github.com/huduma-ke/huduma/store/ledger"
	"github.com/huduma-ke/huduma/store/memcatalog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serialises migrations across
// processes ("hudm" in ASCII).
const migrationLock = 0x6875646d

// Store is the Postgres implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	ledger *ledger.DB

	// cat is the catalog in memory, which hops read (memcatalog).
	cat memcatalog.Cache
}

var _ store.Store = (*Store)(nil)

// Open connects to url. Pool limits and timeouts can be set in the URL
// (pool_max_conns, connect_timeout, search_path, ...).
func Open(ctx context.Context, url string) (*Store, error) {
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
		cfg.ConnConfig.ConnectTimeout = 3e9
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &Store{pool: pool, ledger: ledger.New(stdlib.OpenDBFromPool(pool), ledger.Postgres)}, nil
}

// Pool exposes the pool for packages that keep their own tables in the
// same database (the job queue).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ledger returns the invoice, payment, outbox and job tables.
func (s *Store) Ledger() *ledger.DB { return s.ledger }

// Backend implements store.Store.
func (s *Store) Backend() string { return "postgres" }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Migrate implements store.Store: every pending file in its own
// transaction, under an advisory lock so concurrent starts queue.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number: %w", f, err)
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", f, err)
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, v).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v)
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	return nil
}

// notFound wraps huduma.ErrNotFound with what was looked up.
func notFound(what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, huduma.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Language implements store.PreferenceStore.
func (s *Store) Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error) {
	var lang string
	if err := s.pool.QueryRow(ctx, `SELECT language FROM phone_preferences WHERE msisdn = $1`, string(phone)).Scan(&lang); err != nil {
		return "", notFound("language preference", err)
	}
	return huduma.Language(lang), nil
}

// Languages implements store.PreferenceStore.
func (s *Store) Languages(ctx context.Context) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT msisdn, language FROM phone_preferences`)
	if err != nil {
		return nil, fmt.Errorf("read languages: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var phone, lang string
		if err := rows.Scan(&phone, &lang); err != nil {
			return nil, fmt.Errorf("read languages: %w", err)
		}
		out[phone] = lang
	}
	return out, rows.Err()
}

// SetLanguage implements store.PreferenceStore.
func (s *Store) SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error {
	if _, err := huduma.ParseLanguage(string(lang)); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO phone_preferences (msisdn, language) VALUES ($1, $2)
		ON CONFLICT (msisdn) DO UPDATE SET language = excluded.language, updated_at = now()`, string(phone), string(lang)); err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// PurgeSessionEvents implements store.EventStore.
func (s *Store) PurgeSessionEvents(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ussd_session_events WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("purge session events: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RecordSessionEvent implements store.EventStore.
func (s *Store) RecordSessionEvent(ctx context.Context, e huduma.SessionEvent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO ussd_session_events
		(provider, session_id, msisdn, status, input, last_response, hops, duration_ms, error_message, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (provider, session_id) DO NOTHING`,
		e.Provider, e.SessionID, string(e.MSISDN), e.Status, e.Input, e.LastResponse, e.Hops, e.DurationMS, e.ErrorMessage, e.At)
	if err != nil {
		return fmt.Errorf("record session event: %w", err)
	}
	return nil
}

// SetLogger names where the catalog's background refresh reports
// failures.
func (s *Store) SetLogger(log *slog.Logger) { s.cat.SetLogger(log.With("comp", "catalog")) }
