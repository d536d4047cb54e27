// Package sqlstore is Huduma's relational store, written once over
// database/sql for both backends: Postgres (through pgx's stdlib adapter,
// package pgstore opens it) and the embedded SQLite (modernc, package
// sqlitestore). The few differences between them are in Dialect; each
// backend brings its own migration files, and one runner applies them.
// The conformance suite (store/storetest) holds both to the same
// behaviour and the same schema.
//
// It keeps the catalog (read by hops from memory, store/memcatalog), the
// phones' language choices, session events, and the money and messaging
// tables: invoices, M-Pesa attempts, callbacks, C2B payments, the audit
// log, the SMS outbox and the durable job queue, applications and OTPs.
// Every change of an invoice or attempt happens in one transaction with
// its audit row and, where a text is due, its outbox message, so a crash
// can never leave a payment without its receipt or a receipt without its
// payment. Times are stored as Unix milliseconds on both backends.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/store/memcatalog"
)

// Dialect holds the few SQL differences between the backends.
type Dialect struct {
	Name string
	// ForUpdate locks selected rows until the transaction ends (Postgres);
	// SQLite needs none because it has one writer at a time.
	ForUpdate string
	// SkipLocked lets several workers claim different jobs (Postgres).
	SkipLocked string
	// LockKey takes a lock on a name ($1) until the transaction ends, so
	// check-then-insert rules (the OTP send cap) hold under concurrency
	// (Postgres: a transaction-level advisory lock). SQLite needs none:
	// one connection, so one transaction at a time.
	LockKey string
	// MigrationLock and MigrationUnlock serialise migrations across
	// processes on one connection (Postgres: a session advisory lock);
	// SQLite's immediate transactions already do.
	MigrationLock, MigrationUnlock string
}

// migrationLock is the advisory lock key that serialises migrations across
// processes ("hudm" in ASCII).
const migrationLock = "1752524141"

// The two dialects.
var (
	Postgres = Dialect{Name: "postgres", ForUpdate: " FOR UPDATE", SkipLocked: " FOR UPDATE SKIP LOCKED",
		LockKey:       `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		MigrationLock: `SELECT pg_advisory_lock(` + migrationLock + `)`, MigrationUnlock: `SELECT pg_advisory_unlock(` + migrationLock + `)`}
	SQLite = Dialect{Name: "sqlite"}
)

// DB is the store on one database.
type DB struct {
	db         *sql.DB
	d          Dialect
	migrations fs.FS
	close      func() error
	now        func() time.Time
	// cat is the catalog in memory, which hops read (memcatalog).
	cat *memcatalog.Cache
	// obsv is who hears of committed changes (metrics), shared with
	// WithClock copies.
	obsv *observing
	// commits counts the transactions committed (Commits), shared with
	// WithClock copies.
	commits *atomic.Int64
}

// New returns the store on db in dialect d; migrations holds the
// backend's numbered *.sql files; closeFn releases what the backend
// opened (nil: db.Close).
func New(db *sql.DB, d Dialect, migrations fs.FS, closeFn func() error) *DB {
	if closeFn == nil {
		closeFn = db.Close
	}
	return &DB{db: db, d: d, migrations: migrations, close: closeFn, now: time.Now, cat: &memcatalog.Cache{},
		obsv: &observing{obs: nopObserver{}}, commits: &atomic.Int64{}}
}

// WithClock replaces time.Now (tests).
func (l *DB) WithClock(now func() time.Time) *DB { c := *l; c.now = now; return &c }

// SQL is the database handle, for tests and tools that read tables.
func (l *DB) SQL() *sql.DB { return l.db }

// Backend names the backend for logs: "postgres" or "sqlite".
func (l *DB) Backend() string { return l.d.Name }

// Ping checks the database answers (readiness).
func (l *DB) Ping(ctx context.Context) error {
	if err := l.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", l.d.Name, err)
	}
	return nil
}

// Close releases the pool or file.
func (l *DB) Close() error { return l.close() }

// SetLogger names where background work (the catalog's refresh) reports
// failures.
func (l *DB) SetLogger(log *slog.Logger) { l.cat.SetLogger(log.With("comp", "catalog")) }

// notFound wraps huduma.ErrNotFound with what was looked up.
func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, huduma.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// isUnique reports a unique-constraint violation on either backend.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// tx runs fn in a transaction, committing when it returns nil. What fn
// asked to tell the observer (onCommit) is told only after the commit.
func (l *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	l.begin(tx)
	committed := false
	defer func() { l.finish(tx, committed) }()
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	l.commits.Add(1)
	return nil
}

// Commits is how many transactions this store has committed: what a
// benchmark divides by the work it did.
func (l *DB) Commits() int64 { return l.commits.Load() }

// lock serialises transactions on name until tx ends (see Dialect.LockKey).
func (l *DB) lock(ctx context.Context, tx *sql.Tx, name string) error {
	if l.d.LockKey == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, l.d.LockKey, name); err != nil {
		return fmt.Errorf("lock %s: %w", strings.SplitN(name, ":", 2)[0], err)
	}
	return nil
}

func (l *DB) audit(ctx context.Context, tx *sql.Tx, entity, id, action string, detail any) error {
	return l.auditRows(ctx, tx, auditRow{entity, id, action, detail})
}

// auditRow is one row of the audit log; detail is stored as JSON.
type auditRow struct {
	entity, id, action string
	detail             any
}

// auditRows writes rows in one statement (one round trip however many).
func (l *DB) auditRows(ctx context.Context, tx *sql.Tx, rows ...auditRow) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_log (entity, entity_id, action, detail, at) VALUES `)
	args := make([]any, 0, 5*len(rows))
	at := ms(l.now())
	for i, r := range rows {
		var d []byte
		if r.detail != nil {
			var err error
			if d, err = json.Marshal(r.detail); err != nil {
				return fmt.Errorf("encode audit detail: %w", err)
			}
		}
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, r.entity, r.id, r.action, string(d), at)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	return nil
}

// queueMessage writes an outbox row in tx. A non-empty dedupe key makes a
// repeat a no-op, so a retried settlement can never queue a second receipt.
func (l *DB) queueMessage(ctx context.Context, tx *sql.Tx, m huduma.Message, dedupe string) error {
	now := ms(l.now())
	var key any
	if dedupe != "" {
		key = dedupe
	}
	// A sealed text (an OTP's) says how many parts its clear text takes.
	parts := m.Parts
	if parts <= 0 {
		parts = gsm7.SMSParts(m.Body)
	}
	// ON CONFLICT rather than catching the error: on Postgres a failed
	// statement aborts the whole transaction.
	r, err := tx.ExecContext(ctx, `INSERT INTO outbox (recipient, body, kind, priority, next_attempt_at, dedupe_key, parts, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING`, string(m.To), m.Body, string(m.Kind), m.Kind.Priority(), now, key, parts, now)
	if err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	if n, err := r.RowsAffected(); err == nil && n > 0 {
		kind := m.Kind
		l.onCommit(tx, func(o Observer) { o.MessageQueued(kind) })
	}
	return nil
}

// QueueMessage adds one SMS to the outbox on its own.
func (l *DB) QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error {
	return l.tx(ctx, func(tx *sql.Tx) error { return l.queueMessage(ctx, tx, m, dedupe) })
}

// Messages lists the outbox messages for one phone, newest first.
func (l *DB) Messages(ctx context.Context, to huduma.MSISDN, limit int) ([]huduma.Message, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, recipient, body, kind, status, parts, created_at FROM outbox
		WHERE recipient = $1 ORDER BY id DESC LIMIT $2`, string(to), limit)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []huduma.Message
	for rows.Next() {
		var m huduma.Message
		var to, kind string
		var at int64
		if err := rows.Scan(&m.ID, &to, &m.Body, &kind, &m.Status, &m.Parts, &at); err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		m.To, m.Kind, m.CreatedAt = huduma.MSISDN(to), huduma.MessageKind(kind), fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	Action string
	Detail string
	At     time.Time
}

// Audit returns an entity's audit trail, oldest first; a payment's takes
// in the rows about the invoices it paid too.
func (l *DB) Audit(ctx context.Context, entity, id string) ([]AuditEntry, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT action, detail, at FROM audit_log WHERE entity = $1 AND entity_id = $2
		OR $1 = 'payment' AND trans_id = $2 AND entity <> 'payment' ORDER BY id`, entity, id)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.Action, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecordCallback keeps every payment callback as received, with what was
// done about it: the audit trail a disputed payment is traced by.
func (l *DB) RecordCallback(ctx context.Context, kind, reference, outcome string, body []byte) error {
	return l.tx(ctx, func(tx *sql.Tx) error { return l.recordCallback(ctx, tx, kind, reference, outcome, body) })
}

// recordCallback is RecordCallback in tx (a settlement records the
// callback it settled in its own transaction).
func (l *DB) recordCallback(ctx context.Context, tx *sql.Tx, kind, reference, outcome string, body []byte) error {
	if len(body) > 16<<10 {
		body = body[:16<<10]
	}
	// The body is kept as it came, but as text every backend stores:
	// Postgres refuses a NUL byte, and a callback must never fail (and be
	// retried without end) for one.
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_callbacks (kind, reference, outcome, body, received_at) VALUES ($1, $2, $3, $4, $5)`,
		clip(kind, 40), clip(reference, 200), clip(outcome, 400), strings.ReplaceAll(strings.ToValidUTF8(string(body), "?"), "\x00", "?"), ms(l.now())); err != nil {
		return fmt.Errorf("record callback: %w", err)
	}
	return nil
}
