package sqlstore

import (
	"context"
	"fmt"
)

// MessageQueued reports whether a message with this dedupe key is in the
// outbox. The SMS inbox queues its answer to a text under a key of that
// text, last: a text whose answer is queued has had all its effects, so a
// repeat of it is dropped, while one whose handling stopped midway (a
// crash, a database error) is handled again.
func (l *DB) MessageQueued(ctx context.Context, dedupe string) (bool, error) {
	if dedupe == "" {
		return false, nil
	}
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE dedupe_key = $1`, dedupe).Scan(&n); err != nil {
		return false, fmt.Errorf("look up queued message: %w", err)
	}
	return n > 0, nil
}
