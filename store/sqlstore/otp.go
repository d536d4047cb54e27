package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
)

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
		l.onCommit(tx, func(o Observer) { o.OTP(OTPSent) })
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
			// No live code: say expired when the latest one ran out (for
			// the metrics only; the caller hears "invalid" either way).
			event := OTPRejected
			var expired int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM otp_codes WHERE phone = $1 AND purpose = $2 AND used_at IS NULL AND expires_at <= $3`,
				string(phone), purpose, ms(now)).Scan(&expired); err == nil && expired > 0 {
				event = OTPExpired
			}
			l.onCommit(tx, func(o Observer) { o.OTP(event) })
			return nil
		}
		if err != nil {
			return fmt.Errorf("load otp: %w", err)
		}
		if attempts >= OTPMaxAttempts {
			l.onCommit(tx, func(o Observer) { o.OTP(OTPRejected) })
			return nil
		}
		if match(hash) {
			valid = true
			_, err = tx.ExecContext(ctx, `UPDATE otp_codes SET used_at = $2, attempts = attempts + 1 WHERE id = $1`, id, ms(now))
			l.onCommit(tx, func(o Observer) { o.OTP(OTPVerified) })
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1`, id)
			l.onCommit(tx, func(o Observer) { o.OTP(OTPRejected) })
			if attempts+1 >= OTPMaxAttempts {
				l.onCommit(tx, func(o Observer) { o.OTP(OTPLocked) })
			}
		}
		if err != nil {
			return fmt.Errorf("update otp: %w", err)
		}
		return nil
	})
	return valid && err == nil, err
}
