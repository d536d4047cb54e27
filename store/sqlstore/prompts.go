package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/huduma-ke/huduma"
)

// UnsentDedupe is the outbox dedupe key of the text that tells a payer
// the prompt of attempt id will not come: one text per attempt, however
// often the job that gives up on it runs.
func UnsentDedupe(id int64) string { return fmt.Sprintf("prompt-unsent:%d", id) }

// GiveUpPush ends a queued prompt that will never be sent (Daraja refused
// it, an outage outlasted its tries, or it would come too late to be
// useful): the attempt becomes unsent with the reason (redacted), and msg,
// which tells the payer how to pay instead, is queued in the same
// transaction, once per attempt (UnsentDedupe). It reports whether it
// ended the attempt; false means the attempt had already left queued
// (sent, settled, replaced) and nothing was written.
func (l *DB) GiveUpPush(ctx context.Context, id int64, reason string, msg huduma.Message) (bool, error) {
	reason = huduma.Redact(reason)
	ended := false
	err := l.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'unsent', result_desc = $2, updated_at = $3 WHERE id = $1 AND status = 'queued'`,
			id, reason, ms(l.now()))
		if err != nil {
			return fmt.Errorf("mark prompt unsent: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ended = true
		if err := l.queueMessage(ctx, tx, msg, UnsentDedupe(id)); err != nil {
			return err
		}
		return l.audit(ctx, tx, "attempt", fmt.Sprint(id), "push_unsent", map[string]any{"reason": reason})
	})
	if err != nil {
		return false, err
	}
	return ended, nil
}
