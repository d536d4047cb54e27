package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
)

// enqueue writes a job in tx, so it exists exactly when the change that
// needs it commits (an invoice with no push job cannot happen).
func (l *DB) enqueue(ctx context.Context, tx *sql.Tx, kind huduma.JobKind, payload any, runAt time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, payload, run_at) VALUES ($1, $2, $3)`, kind, string(b), ms(runAt)); err != nil {
		return fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	return nil
}

// enqueueOnce writes a job in tx once per dedupe key ("" = always) and
// returns its id, 0 when the key had added it before.
func (l *DB) enqueueOnce(ctx context.Context, tx *sql.Tx, kind huduma.JobKind, payload any, runAt time.Time, dedupe string) (int64, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("encode job: %w", err)
	}
	var key any
	if dedupe != "" {
		key = dedupe
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO jobs (kind, payload, run_at, dedupe_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, kind, string(b), ms(runAt), key).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	return id, nil
}

// ClaimJob leases job id for lease when it is not done and nobody holds
// it: a caller that has just added a job runs it at once (the USSD hop
// runs its invoice's checkout), and the worker retries it otherwise.
func (l *DB) ClaimJob(ctx context.Context, id int64, lease time.Duration) (huduma.Job, bool, error) {
	now := l.now()
	var j huduma.Job
	var p string
	err := l.db.QueryRowContext(ctx, `UPDATE jobs SET locked_until = $2, attempts = attempts + 1
		WHERE id = $1 AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3) RETURNING id, kind, payload, attempts`,
		id, ms(now.Add(lease)), ms(now)).Scan(&j.ID, &j.Kind, &p, &j.Attempts)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return j, false, nil
	case err != nil:
		return j, false, fmt.Errorf("claim job %d: %w", id, err)
	}
	j.Payload = []byte(p)
	return j, true, nil
}

// SaveJobPayload rewrites a claimed job's payload, leaving its lease: what
// a job is about to do is on record before it does it.
func (l *DB) SaveJobPayload(ctx context.Context, id int64, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if _, err := l.db.ExecContext(ctx, `UPDATE jobs SET payload = $2 WHERE id = $1`, id, string(b)); err != nil {
		return fmt.Errorf("save job payload: %w", err)
	}
	return nil
}

// Enqueue adds a job on its own.
func (l *DB) Enqueue(ctx context.Context, kind huduma.JobKind, payload any, runAt time.Time) error {
	return l.tx(ctx, func(tx *sql.Tx) error { return l.enqueue(ctx, tx, kind, payload, runAt) })
}

// Claim leases up to limit due jobs for lease. A job whose worker dies is
// claimed again once its lease runs out, so handlers must be idempotent.
//
// With kinds, only jobs of those kinds are claimed, and every due job of
// an earlier kind comes before any of a later one (the payments worker
// asks for prompts before status queries). Without, any due job, oldest
// first. Each kind is one atomic claim (FOR UPDATE SKIP LOCKED on
// Postgres; SQLite has one writer), so concurrent workers never share a
// job. On an error the jobs already claimed are returned with it, for the
// caller to run.
func (l *DB) Claim(ctx context.Context, limit int, lease time.Duration, kinds ...huduma.JobKind) ([]huduma.Job, error) {
	if len(kinds) == 0 {
		return l.claim(ctx, limit, lease, "")
	}
	var out []huduma.Job
	for _, k := range kinds {
		if len(out) >= limit {
			break
		}
		jobs, err := l.claim(ctx, limit-len(out), lease, k)
		out = append(out, jobs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// claim leases up to limit due jobs of kind ("" = any kind).
func (l *DB) claim(ctx context.Context, limit int, lease time.Duration, kind huduma.JobKind) ([]huduma.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := l.now()
	filter, args := "", []any{ms(now.Add(lease)), ms(now), limit}
	if kind != "" {
		filter, args = " AND kind = $4", append(args, kind)
	}
	rows, err := l.db.QueryContext(ctx, `UPDATE jobs SET locked_until = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $2 AND (locked_until IS NULL OR locked_until < $2)`+filter+`
		             ORDER BY run_at, id LIMIT $3`+l.d.SkipLocked+`)
		RETURNING id, kind, payload, attempts`, args...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	var out []huduma.Job
	for rows.Next() {
		var j huduma.Job
		var p string
		if err := rows.Scan(&j.ID, &j.Kind, &p, &j.Attempts); err != nil {
			return out, fmt.Errorf("claim jobs: %w", err)
		}
		j.Payload = []byte(p)
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("claim jobs: %w", err)
	}
	return out, nil
}

// Done marks a job finished.
func (l *DB) Done(ctx context.Context, id int64) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE jobs SET done_at = $2, locked_until = NULL WHERE id = $1`, id, ms(l.now())); err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// Retry puts a job back to run at runAt, keeping why it failed (redacted:
// a provider's error may name a URL with secrets or a phone number).
func (l *DB) Retry(ctx context.Context, id int64, runAt time.Time, reason string, payload any) error {
	q, args := `UPDATE jobs SET run_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1`, []any{id, ms(runAt), huduma.Redact(reason)}
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return fmt.Errorf("encode job: %w", err)
		}
		q, args = `UPDATE jobs SET run_at = $2, locked_until = NULL, last_error = $3, payload = $4 WHERE id = $1`, append(args, string(b))
	}
	if _, err := l.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("retry job: %w", err)
	}
	return nil
}

// Postpone puts a claimed job back to run at runAt without counting the
// claim as a try: for a job that could not even be tried (the provider's
// circuit breaker held the call back), so waiting out an outage never
// spends the tries a job has for real failures. The reason is redacted as
// for Retry.
func (l *DB) Postpone(ctx context.Context, id int64, runAt time.Time, reason string) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE jobs SET run_at = $2, locked_until = NULL, last_error = $3,
		attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $1 AND done_at IS NULL`,
		id, ms(runAt), huduma.Redact(reason)); err != nil {
		return fmt.Errorf("postpone job: %w", err)
	}
	return nil
}

// PendingJobs counts jobs not yet done (tests, metrics).
func (l *DB) PendingJobs(ctx context.Context, kind huduma.JobKind) (int, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE done_at IS NULL AND kind = $1`, kind).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}
