package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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

// PromptCapWindow is how far back the prompts a phone got from strangers
// are counted.
const PromptCapWindow = time.Hour

// SetPromptCap sets how many M-Pesa prompts one phone may get from
// strangers in PromptCapWindow (HUDUMA_PROMPT_CAP; 0, the default, is no
// cap). A stranger's prompt is one to another phone than the invoice's,
// not asked for by its payer (QueuePushByPayer): "Pay from another
// number", an agency pushing to another payer, an SMS PAY for someone
// else's invoice. The count is of durable prompts, so it holds across
// every instance on the database.
func (l *DB) SetPromptCap(n int) { l.promptCap = max(n, 0) }

// capStrangerPrompts refuses a stranger's prompt to payer once payer has
// had the cap's worth in the window (ERateLimited). The payer's lock makes
// the count and the insert that follows one step, so concurrent requests
// from anywhere cannot all pass. A transaction takes it after its
// invoice's lock and takes no other phone's, so two prompts never wait on
// each other in a cycle.
func (l *DB) capStrangerPrompts(ctx context.Context, tx *sql.Tx, payer huduma.MSISDN, stranger bool) error {
	limit := l.promptCap
	if !stranger || limit <= 0 {
		return nil
	}
	if err := l.lock(ctx, tx, "prompts:"+string(payer)); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_attempts WHERE payer = $1 AND stranger = 1 AND created_at > $2`,
		string(payer), ms(l.now().Add(-PromptCapWindow))).Scan(&n); err != nil {
		return fmt.Errorf("count prompts from others: %w", err)
	}
	if n >= limit {
		return huduma.Errorf(huduma.ERateLimited, "%s has had %d M-Pesa prompts from other phones in the last hour, the most allowed; "+
			"it can still pay by paybill, or ask for the prompt itself", payer.Masked(), n)
	}
	return nil
}
