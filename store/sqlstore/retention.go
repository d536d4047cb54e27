package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Purged counts what one retention pass removed.
type Purged struct {
	Messages, Inbound, OTPs, CallbackBodies, Jobs int64
}

// Purge removes personal data older than before (HUDUMA_RETENTION):
// finished outbox messages (the SMS texts and numbers), inbound SMS, OTP
// hashes, done jobs, and the raw bodies of payment callbacks (which hold
// phone numbers and names). Invoices, payments, applications and the audit
// log are financial records and stay; see the retention table in
// docs/security.md.
func (l *DB) Purge(ctx context.Context, before time.Time) (Purged, error) {
	var p Purged
	cut := ms(before)
	err := l.tx(ctx, func(tx *sql.Tx) error {
		steps := []struct {
			n *int64
			q string
		}{
			{&p.Messages, `DELETE FROM outbox WHERE created_at < $1 AND status NOT IN ('queued', 'sending')`},
			{&p.Inbound, `DELETE FROM inbound_sms WHERE received_at < $1`},
			{&p.OTPs, `DELETE FROM otp_codes WHERE created_at < $1`},
			{&p.CallbackBodies, `UPDATE payment_callbacks SET body = '' WHERE received_at < $1 AND body <> ''`},
			{&p.Jobs, `DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < $1`},
		}
		for _, s := range steps {
			r, err := tx.ExecContext(ctx, s.q, cut)
			if err != nil {
				return fmt.Errorf("purge: %w", err)
			}
			*s.n, _ = r.RowsAffected()
		}
		return nil
	})
	return p, err
}
