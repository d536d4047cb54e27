package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/huduma-ke/huduma"
)

// Observer hears of the store's own changes for metrics (the money path's
// events come with its plans, to the payments service's observer). Each
// call comes only after the change's transaction committed, and an
// idempotent replay that changed nothing (a key seen before, a duplicate
// text) makes no call: a rolled-back or repeated change is never counted.
// Calls must be quick and must not call back into the store.
type Observer interface {
	// OTP: an OTP event (OTPSent, OTPVerified, ...).
	OTP(event string)
	// MessageQueued: a new outbox message (a deduplicated repeat is not).
	MessageQueued(kind huduma.MessageKind)
	// MessageDelivered: a delivery report ended a message delivered (true)
	// or undelivered (false).
	MessageDelivered(kind huduma.MessageKind, delivered bool)
}

// OTP events (Observer.OTP).
const (
	OTPSent     = "sent"
	OTPVerified = "verified"
	// OTPRejected: a wrong code, a code for no live code, or any code
	// against a locked one.
	OTPRejected = "rejected"
	// OTPLocked: the wrong try that used the code's last attempt (once
	// per code).
	OTPLocked = "locked"
	// OTPExpired: a try after the phone's latest code expired.
	OTPExpired = "expired"
)

// nopObserver is the default: nothing listens.
type nopObserver struct{}

func (nopObserver) OTP(string)                                {}
func (nopObserver) MessageQueued(huduma.MessageKind)          {}
func (nopObserver) MessageDelivered(huduma.MessageKind, bool) {}

// observing is shared by a DB and its WithClock copies: the observer and
// the events of transactions still open.
type observing struct {
	mu  sync.RWMutex
	obs Observer
	// pending holds, per open transaction, what to tell the observer
	// once it commits. Keyed by the *sql.Tx so the helpers that write in
	// a transaction (queueMessage, markPaid) need no new parameter.
	pending sync.Map // *sql.Tx -> *[]func(Observer)
}

// SetObserver names who hears of committed changes (nil: nobody).
func (l *DB) SetObserver(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	l.obsv.mu.Lock()
	l.obsv.obs = o
	l.obsv.mu.Unlock()
}

func (l *DB) observer() Observer {
	l.obsv.mu.RLock()
	defer l.obsv.mu.RUnlock()
	return l.obsv.obs
}

// onCommit tells the observer ev once tx commits; a rollback drops it.
func (l *DB) onCommit(tx *sql.Tx, ev func(Observer)) {
	if p, ok := l.obsv.pending.Load(tx); ok {
		list := p.(*[]func(Observer))
		*list = append(*list, ev)
		return
	}
	// Not inside l.tx (cannot happen today): the change is not known to
	// commit, so it is not counted.
}

// begin and finish bracket a transaction's pending events (see l.tx).
func (l *DB) begin(tx *sql.Tx) { l.obsv.pending.Store(tx, &[]func(Observer){}) }

func (l *DB) finish(tx *sql.Tx, committed bool) {
	p, ok := l.obsv.pending.LoadAndDelete(tx)
	if !ok || !committed {
		return
	}
	o := l.observer()
	for _, ev := range *p.(*[]func(Observer)) {
		ev(o)
	}
}

// QueueStats reads the outbox's and the job queue's backlog in one call
// (the scrape-time gauges): what is waiting and how late the most overdue
// item is.
func (l *DB) QueueStats(ctx context.Context) (huduma.QueueStats, error) {
	now := l.now()
	var st huduma.QueueStats
	var oldest sql.NullInt64
	// 'sending' is claimed but not yet confirmed sent: still waiting.
	if err := l.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE status IN ('queued', 'sending')`).
		Scan(&st.OutboxDepth, &oldest); err != nil {
		return st, fmt.Errorf("outbox stats: %w", err)
	}
	if oldest.Valid {
		st.OutboxOldest = max(now.Sub(fromMS(oldest.Int64)), 0)
	}
	st.Jobs = map[huduma.JobKind]huduma.JobStats{}
	for _, k := range huduma.JobKinds() {
		st.Jobs[k] = huduma.JobStats{}
	}
	// The lag is of due jobs no worker holds: a claimed job is being run.
	rows, err := l.db.QueryContext(ctx, `SELECT kind, count(*),
		min(CASE WHEN run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) THEN run_at END)
		FROM jobs WHERE done_at IS NULL GROUP BY kind`, ms(now))
	if err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var js huduma.JobStats
		var due sql.NullInt64
		if err := rows.Scan(&kind, &js.Depth, &due); err != nil {
			return st, fmt.Errorf("job stats: %w", err)
		}
		if due.Valid {
			js.Lag = max(now.Sub(fromMS(due.Int64)), 0)
		}
		st.Jobs[huduma.JobKind(kind)] = js
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	return st, nil
}
