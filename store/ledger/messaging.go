package ledger

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

// Outbox message states. A message is claimed as "sending" with a lease;
// "sent" once the provider accepted it (its id stored in the same update);
// then "delivered" or "failed" from delivery reports. "recorded" is the
// record-only sender's final state; "opted_out" a notice to a phone that
// sent STOP.
const (
	MsgQueued    = "queued"
	MsgSending   = "sending"
	MsgSent      = "sent"
	MsgDelivered = "delivered"
	MsgFailed    = "failed"
	MsgRecorded  = "recorded"
	MsgOptedOut  = "opted_out"
)

// OutMessage is a claimed outbox row.
type OutMessage struct {
	huduma.Message
	Attempts int
}

// ClaimMessages leases up to limit due messages, most urgent kind first
// (OTPs and receipts before notices). A message whose sender died while
// sending is claimed again when its lease runs out: at least once, and at
// most once more per crash.
func (l *DB) ClaimMessages(ctx context.Context, limit int, lease time.Duration) ([]OutMessage, error) {
	now := l.now()
	rows, err := l.db.QueryContext(ctx, `UPDATE outbox SET status = 'sending', next_attempt_at = $1, attempts = attempts + 1, updated_at = $2
		WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $2
		             ORDER BY priority, id LIMIT $3`+l.d.SkipLocked+`)
		RETURNING id, recipient, body, kind, attempts, priority`, ms(now.Add(lease)), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	defer rows.Close()
	var out []OutMessage
	var prios []int
	for rows.Next() {
		var m OutMessage
		var to, kind string
		var prio int
		if err := rows.Scan(&m.ID, &to, &m.Body, &kind, &m.Attempts, &prio); err != nil {
			return nil, fmt.Errorf("claim messages: %w", err)
		}
		m.To, m.Kind, m.Status = huduma.MSISDN(to), huduma.MessageKind(kind), MsgSending
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
	sorted := make([]OutMessage, len(out))
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

// Sent is one accepted message: our id and the provider's.
type Sent struct {
	ID         int64
	ProviderID string
}

// MessagesSent records several accepted messages in one statement, each
// provider id with its sent state, as MessageSent does for one.
func (l *DB) MessagesSent(ctx context.Context, sent []Sent) error {
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
	_, err := l.db.ExecContext(ctx, `UPDATE outbox SET status = 'sent', provider_message_id = v.column2, last_error = '', updated_at = $1
		FROM (VALUES `+b.String()+`) AS v WHERE outbox.id = v.column1`, args...)
	if err != nil {
		return fmt.Errorf("record %d sent messages: %w", len(sent), err)
	}
	return nil
}

// MessageFinal ends a message without a provider (recorded, opted_out) or
// with a permanent failure and its reason. Reasons are stored redacted:
// a provider's error may carry a URL with secrets or a phone number.
func (l *DB) MessageFinal(ctx context.Context, id int64, status, reason string) error {
	return l.setMessage(ctx, id, `UPDATE outbox SET status = $3, last_error = $4, updated_at = $2 WHERE id = $1`, status, huduma.Redact(reason))
}

// MessageRetry puts a message back to be sent at at, with the reason
// redacted as for MessageFinal.
func (l *DB) MessageRetry(ctx context.Context, id int64, at time.Time, reason string) error {
	return l.setMessage(ctx, id, `UPDATE outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, updated_at = $2 WHERE id = $1`, ms(at), huduma.Redact(reason))
}

// MessageStatus returns a message's state and last error (tests, API).
func (l *DB) MessageStatus(ctx context.Context, id int64) (status, lastError string, attempts int, err error) {
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
func (l *DB) ApplyDelivery(ctx context.Context, providerID, state string, final bool, reason string) (bool, error) {
	var id int64
	err := l.db.QueryRowContext(ctx, `SELECT id FROM outbox WHERE provider_message_id = $1`, providerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find message: %w", err)
	}
	if !final {
		state = MsgSent // a non-final report (Buffered, Submitted) keeps it sent
	}
	return true, l.setMessage(ctx, id, `UPDATE outbox SET status = $3, last_error = $4, updated_at = $2
		WHERE id = $1 AND status NOT IN ('delivered', 'failed')`, state, huduma.Redact(reason))
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

// OTP rules (SPEC §6).
const (
	OTPLife        = 5 * time.Minute
	OTPMaxAttempts = 5
	OTPSendWindow  = 10 * time.Minute
	OTPMaxSends    = 3
)

// CreateOTP stores a code's hash and queues its SMS in one transaction,
// retiring earlier codes for the same phone and purpose. More than
// OTPMaxSends in OTPSendWindow is refused with ERateLimited. The phone's
// lock makes the count and the insert one step, so concurrent senders
// cannot all pass the cap.
func (l *DB) CreateOTP(ctx context.Context, phone huduma.MSISDN, purpose, hash string, msg huduma.Message) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		if err := l.lock(ctx, tx, "otp:"+string(phone)); err != nil {
			return err
		}
		now := l.now()
		var sends int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM otp_codes WHERE phone = $1 AND created_at > $2`,
			string(phone), ms(now.Add(-OTPSendWindow))).Scan(&sends); err != nil {
			return fmt.Errorf("count otp sends: %w", err)
		}
		if sends >= OTPMaxSends {
			return huduma.Errorf(huduma.ERateLimited, "too many codes sent to this phone; try again in 10 minutes")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE otp_codes SET used_at = $3 WHERE phone = $1 AND purpose = $2 AND used_at IS NULL`,
			string(phone), purpose, ms(now)); err != nil {
			return fmt.Errorf("retire old codes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO otp_codes (phone, purpose, hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			string(phone), purpose, hash, ms(now.Add(OTPLife)), ms(now)); err != nil {
			return fmt.Errorf("store otp: %w", err)
		}
		return l.queueMessage(ctx, tx, msg, "")
	})
}

// VerifyOTP checks a code against the phone's live code for purpose with
// match (which compares hashes in constant time). A wrong code uses one of
// OTPMaxAttempts; a right one is spent. Unknown, expired, spent or locked
// codes are simply invalid.
func (l *DB) VerifyOTP(ctx context.Context, phone huduma.MSISDN, purpose string, match func(hash string) bool) (bool, error) {
	valid := false
	err := l.tx(ctx, func(tx *sql.Tx) error {
		now := l.now()
		var id int64
		var hash string
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT id, hash, attempts FROM otp_codes
			WHERE phone = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 ORDER BY id DESC LIMIT 1`+l.d.ForUpdate,
			string(phone), purpose, ms(now)).Scan(&id, &hash, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load otp: %w", err)
		}
		if attempts >= OTPMaxAttempts {
			return nil
		}
		if match(hash) {
			valid = true
			_, err = tx.ExecContext(ctx, `UPDATE otp_codes SET used_at = $2, attempts = attempts + 1 WHERE id = $1`, id, ms(now))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1`, id)
		}
		if err != nil {
			return fmt.Errorf("update otp: %w", err)
		}
		return nil
	})
	return valid && err == nil, err
}

const appCols = `number, service_code, service_name, phone, reference, COALESCE(invoice_number, ''), status, note, created_at, updated_at`

func scanApp(r interface{ Scan(...any) error }) (huduma.Application, error) {
	var a huduma.Application
	var phone, status string
	var c, u int64
	err := r.Scan(&a.Number, &a.ServiceCode, &a.ServiceName, &phone, &a.Reference, &a.Invoice, &status, &a.Note, &c, &u)
	a.Phone, a.Status, a.CreatedAt, a.UpdatedAt = huduma.MSISDN(phone), huduma.ApplicationStatus(status), fromMS(c), fromMS(u)
	return a, err
}

// createApplication adds a submitted application in tx under a fresh
// 10-digit check-digit number. With an invoice it is at most one per
// invoice (a repeat returns "").
func (l *DB) createApplication(ctx context.Context, tx *sql.Tx, a huduma.Application) (string, error) {
	now := ms(l.now())
	var inv any
	if a.Invoice != "" {
		inv = a.Invoice
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM applications WHERE invoice_number = $1`, a.Invoice).Scan(&n); err != nil {
			return "", fmt.Errorf("check application: %w", err)
		}
		if n > 0 {
			return "", nil
		}
	}
	for try := 0; try < 5; try++ {
		number := string(huduma.NewInvoiceNumber())
		r, err := tx.ExecContext(ctx, `INSERT INTO applications (number, service_code, service_name, phone, reference, invoice_number, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $7) ON CONFLICT (number) DO NOTHING`,
			number, a.ServiceCode, a.ServiceName, string(a.Phone), a.Reference, inv, now)
		if err != nil {
			return "", fmt.Errorf("insert application: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_history (number, status, at) VALUES ($1, 'submitted', $2)`, number, now); err != nil {
			return "", fmt.Errorf("application history: %w", err)
		}
		return number, l.audit(ctx, tx, "application", number, "submitted", map[string]any{"invoice": a.Invoice})
	}
	return "", fmt.Errorf("insert application: no free number after 5 draws")
}

// CreateApplication adds a submitted application (agency API).
func (l *DB) CreateApplication(ctx context.Context, a huduma.Application) (huduma.Application, error) {
	var number string
	err := l.tx(ctx, func(tx *sql.Tx) error {
		var err error
		number, err = l.createApplication(ctx, tx, a)
		return err
	})
	if err != nil {
		return huduma.Application{}, err
	}
	return l.Application(ctx, number)
}

// Application returns an application with its history.
func (l *DB) Application(ctx context.Context, number string) (huduma.Application, error) {
	a, err := scanApp(l.db.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE number = $1`, number))
	if err != nil {
		return a, notFound("application", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT status, note, at FROM application_history WHERE number = $1 ORDER BY id`, number)
	if err != nil {
		return a, fmt.Errorf("application history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e huduma.AppEvent
		var st string
		var at int64
		if err := rows.Scan(&st, &e.Note, &at); err != nil {
			return a, fmt.Errorf("application history: %w", err)
		}
		e.Status, e.At = huduma.ApplicationStatus(st), fromMS(at)
		a.History = append(a.History, e)
	}
	return a, rows.Err()
}

// ApplicationForInvoice returns the application a paid invoice opened.
func (l *DB) ApplicationForInvoice(ctx context.Context, invoice huduma.InvoiceNumber) (huduma.Application, error) {
	var number string
	if err := l.db.QueryRowContext(ctx, `SELECT number FROM applications WHERE invoice_number = $1`, string(invoice)).Scan(&number); err != nil {
		return huduma.Application{}, notFound("application", err)
	}
	return l.Application(ctx, number)
}

// UpdateApplication records a status change with its history row, audit
// row and the SMS to the applicant, in one transaction. msg builds the SMS
// inside that transaction, so it must not touch the database (the embedded
// backend has one connection).
func (l *DB) UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string, msg func(huduma.Application) huduma.Message) (huduma.Application, error) {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE number = $1`+l.d.ForUpdate, number))
		if err != nil {
			return notFound("application", err)
		}
		now := ms(l.now())
		if _, err := tx.ExecContext(ctx, `UPDATE applications SET status = $2, note = $3, updated_at = $4 WHERE number = $1`, number, string(status), note, now); err != nil {
			return fmt.Errorf("update application: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_history (number, status, note, at) VALUES ($1, $2, $3, $4)`, number, string(status), note, now); err != nil {
			return fmt.Errorf("application history: %w", err)
		}
		if err := l.audit(ctx, tx, "application", number, "status:"+string(status), nil); err != nil {
			return err
		}
		a.Status, a.Note, a.UpdatedAt = status, note, fromMS(now)
		return l.queueMessage(ctx, tx, msg(a), "")
	})
	if err != nil {
		return huduma.Application{}, err
	}
	return l.Application(ctx, number)
}
