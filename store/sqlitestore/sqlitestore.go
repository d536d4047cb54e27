// Package sqlitestore is the embedded store: one SQLite file (pure Go,
// modernc.org/sqlite), used when DATABASE_URL is empty so Huduma runs with
// nothing installed. It passes the same conformance suite as pgstore.
//
// Catalog reads (search, services by code, categories, the fee table)
// come from the catalog in memory (store/memcatalog), reloaded whenever
// the catalog's version row changes — including after a `huduma catalog
// import` run by another process.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store"
	"github.com/huduma-ke/huduma/store/ledger"
	"github.com/huduma-ke/huduma/store/memcatalog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of store.Store.
type Store struct {
	db *sql.DB
	// cat is the catalog in memory, which hops read (memcatalog).
	cat memcatalog.Cache
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
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
	return &Store{db: db}, nil
}

// Ledger returns the invoice, payment, outbox and job tables.
func (s *Store) Ledger() *ledger.DB { return ledger.New(s.db, ledger.SQLite) }

// Backend implements store.Store.
func (s *Store) Backend() string { return "sqlite" }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }

// Migrate implements store.Store. Each file runs in its own immediate
// (write-locking) transaction, so two processes cannot apply one twice.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
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
		if err := s.apply(ctx, v, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", f, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, body string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, now()); err != nil {
		return err
	}
	return tx.Commit()
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// notFound wraps huduma.ErrNotFound with what was looked up.
func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, huduma.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Language implements store.PreferenceStore.
func (s *Store) Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error) {
	var lang string
	err := s.db.QueryRowContext(ctx, `SELECT language FROM phone_preferences WHERE msisdn = ?`, string(phone)).Scan(&lang)
	if err != nil {
		return "", notFound("language preference", err)
	}
	return huduma.Language(lang), nil
}

// Languages implements store.PreferenceStore.
func (s *Store) Languages(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT msisdn, language FROM phone_preferences`)
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO phone_preferences (msisdn, language, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (msisdn) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at`,
		string(phone), string(lang), now())
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// PurgeSessionEvents implements store.EventStore. Times are stored as
// RFC 3339 in UTC, so comparing the text compares the instants (to the
// second, which is all retention needs).
func (s *Store) PurgeSessionEvents(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.db.ExecContext(ctx, `DELETE FROM ussd_session_events WHERE at < $1`, before.UTC().Format(time.RFC3339))
	if err != nil {
		return 0, fmt.Errorf("purge session events: %w", err)
	}
	return r.RowsAffected()
}

// RecordSessionEvent implements store.EventStore.
func (s *Store) RecordSessionEvent(ctx context.Context, e huduma.SessionEvent) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ussd_session_events
		(provider, session_id, msisdn, status, input, last_response, hops, duration_ms, error_message, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, session_id) DO NOTHING`,
		e.Provider, e.SessionID, string(e.MSISDN), e.Status, e.Input, e.LastResponse, e.Hops, e.DurationMS,
		e.ErrorMessage, e.At.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("record session event: %w", err)
	}
	return nil
}

// SetLogger names where the catalog's background refresh reports
// failures.
func (s *Store) SetLogger(log *slog.Logger) { s.cat.SetLogger(log.With("comp", "catalog")) }
