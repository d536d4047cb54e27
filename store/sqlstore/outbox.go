package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// ClaimMessages leases up to limit due messages, most urgent kind first
// (OTPs and receipts before notices). A message whose sender died while
// sending is claimed again when its lease runs out: at least once, and at
// most once more per crash.
func (l *DB) ClaimMessages(ctx context.Context, limit int, lease time.Duration) ([]huduma.OutMessage, error) {
	now := l.now()
	rows, err := l.db.QueryContext(ctx, `UPDATE outbox SET status = 'sending', next_attempt_at = $1, attempts = attempts + 1, updated_at = $2
		WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $2
		             ORDER BY priority, id LIMIT $3`+l.d.SkipLocked+`)
		RETURNING id, recipient, body, kind, attempts, priority`, ms(now.Add(lease)), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	defer rows.Close()
	var out []huduma.OutMessage
	var prios []int
	for rows.Next() {
		var m huduma.OutMessage
		var to, kind string
		var prio int
		if err := rows.Scan(&m.ID, &to, &m.Body, &kind, &m.Attempts, &prio); err != nil {
			return nil, fmt.Errorf("claim messages: %w", err)
		}
		m.To, m.Kind, m.Status = huduma.MSISDN(to), huduma.MessageKind(kind), huduma.MsgSending
		out = append(out, m)
		prios = append(prios, prio)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	// RETURNING keeps no order; send the batch most urgent first.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if prios[idx[a]] != prios[idx[b]] {
			return prios[idx[a]] < prios[idx[b]]
		}
		return out[idx[a]].ID < out[idx[b]].ID
	})
	sorted := make([]huduma.OutMessage, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, nil
}

func (l *DB) setMessage(ctx context.Context, id int64, q string, args ...any) error {
	if _, err := l.db.ExecContext(ctx, q, append([]any{id, ms(l.now())}, args...)...); err != nil {
		return fmt.Errorf("update message %d: %w", id, err)
	}
	return nil
}

// MessagesSent records several accepted messages in one statement, each
// provider id with its sent state, as MessageSent does for one.
func (l *DB) MessagesSent(ctx context.Context, sent []huduma.Sent) error {
	if len(sent) == 0 {
		return nil
	}
	var b strings.Builder
	args := []any{ms(l.now())}
	for i, s := range sent {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(CAST($%d AS bigint), CAST($%d AS text))", len(args)+1, len(args)+2)
		args = append(args, s.ID, s.ProviderID)
	}
	// An OTP's text has done its work once the provider has it.
	_, err := l.db.ExecContext(ctx, `UPDATE outbox SET status = 'sent', provider_message_id = v.column2, last_error = '', updated_at = $1,
		body = CASE WHEN kind = 'otp' THEN '`+huduma.OTPRemoved+`' ELSE body END
		FROM (VALUES `+b.String()+`) AS v WHERE outbox.id = v.column1`, args...)
	if err != nil {
		return fmt.Errorf("record %d sent messages: %w", len(sent), err)
	}
	return nil
}

// MessageFinal ends a message without a provider (recorded, opted_out) or
// with a permanent failure and its reason. Reasons are stored redacted:
// a provider's error may carry a URL with secrets or a phone number. An
// OTP that will never be sent loses its text like a sent one; a recorded
// one (the record-only outbox, which sends nothing) keeps its sealed text
// for the demo's inbox until retention.
func (l *DB) MessageFinal(ctx context.Context, id int64, status huduma.MessageStatus, reason string) error {
	return l.setMessage(ctx, id, `UPDATE outbox SET status = $3, last_error = $4, updated_at = $2,
		body = CASE WHEN kind = 'otp' AND $3 <> 'recorded' THEN '`+huduma.OTPRemoved+`' ELSE body END WHERE id = $1`, status, huduma.Redact(reason))
}

// MessageRetry puts a message back to be sent at at, with the reason
// redacted as for MessageFinal.
func (l *DB) MessageRetry(ctx context.Context, id int64, at time.Time, reason string) error {
	return l.setMessage(ctx, id, `UPDATE outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, updated_at = $2 WHERE id = $1`, ms(at), huduma.Redact(reason))
}

// MessageStatus returns a message's state and last error (tests, API).
func (l *DB) MessageStatus(ctx context.Context, id int64) (status huduma.MessageStatus, lastError string, attempts int, err error) {
	err = l.db.QueryRowContext(ctx, `SELECT status, last_error, attempts FROM outbox WHERE id = $1`, id).Scan(&status, &lastError, &attempts)
	if err != nil {
		err = notFound("message", err)
	}
	return
}

// MessageProvider returns the provider's id for a message (support, tests).
func (l *DB) MessageProvider(ctx context.Context, id int64) (string, error) {
	var pid sql.NullString
	if err := l.db.QueryRowContext(ctx, `SELECT provider_message_id FROM outbox WHERE id = $1`, id).Scan(&pid); err != nil {
		return "", notFound("message", err)
	}
	return pid.String, nil
}

// ApplyDelivery records a delivery report against the message the
// provider knows by providerID. Final states are never overwritten, so a
// late or repeated report changes nothing. It reports whether a message
// matched.
func (l *DB) ApplyDelivery(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) (bool, error) {
	var id int64
	var kind string
	err := l.db.QueryRowContext(ctx, `SELECT id, kind FROM outbox WHERE provider_message_id = $1`, providerID).Scan(&id, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find message: %w", err)
	}
	if !final {
		state = huduma.MsgSent // a non-final report (Buffered, Submitted) keeps it sent
	}
	// One statement, so committed when it returns; a repeated report of a
	// final state changes no row and is not counted again.
	r, err := l.db.ExecContext(ctx, `UPDATE outbox SET status = $3, last_error = $4, updated_at = $2
		WHERE id = $1 AND status NOT IN ('delivered', 'failed')`, id, ms(l.now()), state, huduma.Redact(reason))
	if err != nil {
		return true, fmt.Errorf("update message %d: %w", id, err)
	}
	if n, err := r.RowsAffected(); err == nil && n > 0 && final {
		l.observer().MessageDelivered(huduma.MessageKind(kind), state == huduma.MsgDelivered)
	}
	return true, nil
}

// SetOptOut records STOP (true) or START (false) for a phone.
func (l *DB) SetOptOut(ctx context.Context, phone huduma.MSISDN, out bool) error {
	var err error
	if out {
		_, err = l.db.ExecContext(ctx, `INSERT INTO sms_opt_outs (msisdn, at) VALUES ($1, $2) ON CONFLICT (msisdn) DO NOTHING`, string(phone), ms(l.now()))
	} else {
		_, err = l.db.ExecContext(ctx, `DELETE FROM sms_opt_outs WHERE msisdn = $1`, string(phone))
	}
	if err != nil {
		return fmt.Errorf("set opt-out: %w", err)
	}
	return nil
}

// OptedOut reports whether a phone sent STOP.
func (l *DB) OptedOut(ctx context.Context, phone huduma.MSISDN) (bool, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM sms_opt_outs WHERE msisdn = $1`, string(phone)).Scan(&n); err != nil {
		return false, fmt.Errorf("read opt-out: %w", err)
	}
	return n > 0, nil
}

// FirstInbound records an incoming SMS by the provider's id and reports
// whether this is its first arrival (providers retry).
func (l *DB) FirstInbound(ctx context.Context, id string, from huduma.MSISDN, body string) (bool, error) {
	r, err := l.db.ExecContext(ctx, `INSERT INTO inbound_sms (id, msisdn, body, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
		id, string(from), body, ms(l.now()))
	if err != nil {
		return false, fmt.Errorf("record inbound sms: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}
