package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// Leases. A worker claims jobs and outbox messages for a short lease and
// renews it while it works on them, so a live worker keeps its work
// however long a provider takes, and a dead one's work is claimed again as
// soon as its last lease runs out: seconds after a crash, not minutes.

// RenewJobs extends to now+lease the lease of the claimed jobs in ids that
// are still running (not done, not put back by Retry or Postpone, which
// clear the lease). It returns how many leases it extended.
func (l *DB) RenewJobs(ctx context.Context, ids []int64, lease time.Duration) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	in, args := idList(ids, 2)
	r, err := l.db.ExecContext(ctx, `UPDATE jobs SET locked_until = $1
		WHERE id IN (`+in+`) AND done_at IS NULL AND locked_until IS NOT NULL`, append([]any{ms(l.now().Add(lease))}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("renew %d job leases: %w", len(ids), err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// RenewMessages extends to now+lease the lease of the claimed messages in
// ids that are still being sent (status sending: not yet recorded sent,
// failed or put back). It returns how many leases it extended.
func (l *DB) RenewMessages(ctx context.Context, ids []int64, lease time.Duration) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	in, args := idList(ids, 2)
	r, err := l.db.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1 WHERE id IN (`+in+`) AND status = 'sending'`,
		append([]any{ms(l.now().Add(lease))}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("renew %d message leases: %w", len(ids), err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// MessagePostpone puts a claimed message back to be sent at at without
// counting the claim as a try: for a send that never reached the provider
// (its circuit breaker held it back), so an outage alone never uses up a
// message's tries. The reason is redacted as for MessageRetry.
func (l *DB) MessagePostpone(ctx context.Context, id int64, at time.Time, reason string) error {
	return l.setMessage(ctx, id, `UPDATE outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, updated_at = $2,
		attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $1 AND status = 'sending'`, ms(at), huduma.Redact(reason))
}

// idList is "$first, $first+1, …" for ids, and ids as arguments.
func idList(ids []int64, first int) (string, []any) {
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", first+i)
		args[i] = id
	}
	return b.String(), args
}
