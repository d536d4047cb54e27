package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
)

// OTP rules: a code lives five minutes and allows five tries.
const (
	OTPLife        = 5 * time.Minute
	OTPMaxAttempts = 5
	OTPSendWindow  = 10 * time.Minute
	OTPMaxSends    = 3
)

// CreateOTP stores a code's hash and queues its SMS in one transaction,
// retiring earlier codes of the same scope (agency, phone and purpose).
// More than OTPMaxSends codes in OTPSendWindow to one phone in one
// agency's name (any purpose, so cycling purposes does not lift the cap)
// is refused with ERateLimited; other agencies' sends do not count. The
// lock on the agency and phone makes the count and the insert one step,
// so concurrent senders cannot all pass the cap.
func (l *DB) CreateOTP(ctx context.Context, scope huduma.OTPScope, hash string, msg huduma.Message) error {
	phone := scope.Phone
	return l.tx(ctx, func(tx *sql.Tx) error {
		if err := l.lock(ctx, tx, "otp:"+scope.Agency+":"+string(phone)); err != nil {
			return err
		}
		now := l.now()
		var sends int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM otp_codes WHERE agency = $1 AND phone = $2 AND created_at > $3`,
			scope.Agency, string(phone), ms(now.Add(-OTPSendWindow))).Scan(&sends); err != nil {
			return fmt.Errorf("count otp sends: %w", err)
		}
		if sends >= OTPMaxSends {
			return huduma.Errorf(huduma.ERateLimited, "too many codes sent to this phone; try again in 10 minutes")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE otp_codes SET used_at = $4 WHERE agency = $1 AND phone = $2 AND purpose = $3 AND used_at IS NULL`,
			scope.Agency, string(phone), scope.Purpose, ms(now)); err != nil {
			return fmt.Errorf("retire old codes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO otp_codes (agency, phone, purpose, hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			scope.Agency, string(phone), scope.Purpose, hash, ms(now.Add(OTPLife)), ms(now)); err != nil {
			return fmt.Errorf("store otp: %w", err)
		}
		l.onCommit(tx, func(o Observer) { o.OTP(OTPSent) })
		return l.queueMessage(ctx, tx, msg, "")
	})
}

// VerifyOTP checks a code against the live code of scope with match
// (which compares hashes in constant time). A wrong code uses one of
// OTPMaxAttempts; a right one is spent. Unknown, expired, spent or locked
// codes are simply invalid. Only the scope's own code is looked at: a
// guess in another agency's name never touches it.
func (l *DB) VerifyOTP(ctx context.Context, scope huduma.OTPScope, match func(hash string) bool) (bool, error) {
	phone, purpose := scope.Phone, scope.Purpose
	valid := false
	err := l.tx(ctx, func(tx *sql.Tx) error {
		now := l.now()
		var id int64
		var hash string
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT id, hash, attempts FROM otp_codes
			WHERE agency = $1 AND phone = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4 ORDER BY id DESC LIMIT 1`+l.d.ForUpdate,
			scope.Agency, string(phone), purpose, ms(now)).Scan(&id, &hash, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			// No live code: say expired when the latest one ran out (for
			// the metrics only; the caller hears "invalid" either way).
			event := OTPRejected
			var expired int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM otp_codes WHERE agency = $1 AND phone = $2 AND purpose = $3 AND used_at IS NULL AND expires_at <= $4`,
				scope.Agency, string(phone), purpose, ms(now)).Scan(&expired); err == nil && expired > 0 {
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
