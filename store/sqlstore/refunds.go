package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/huduma-ke/huduma"
)

// Refunds (huduma.Refund): every step is one transaction with its audit
// row, and the status only moves forward, so a refund reaches Daraja at
// most once.

const refundCols = `f.id, r.trans_id, f.amount, f.status, f.requested_by, f.remarks, COALESCE(f.conversation_id, ''),
	COALESCE(f.originator_conversation_id, ''), f.result_code, f.result_desc, f.created_at, f.updated_at`

const refundFrom = ` FROM refunds f JOIN received_payments r ON r.id = f.payment_id`

func scanRefund(r interface{ Scan(...any) error }) (huduma.Refund, error) {
	var f huduma.Refund
	var status string
	var c, u int64
	err := r.Scan(&f.ID, &f.TransID, &f.Amount, &status, &f.RequestedBy, &f.Remarks, &f.ConversationID, &f.OriginatorConversationID,
		&f.ResultCode, &f.ResultDesc, &c, &u)
	f.Status, f.CreatedAt, f.UpdatedAt = huduma.RefundStatus(status), fromMS(c), fromMS(u)
	return f, err
}

// Refund returns a refund by id.
func (l *DB) Refund(ctx context.Context, id int64) (huduma.Refund, error) {
	f, err := scanRefund(l.db.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.id = $1`, id))
	if err != nil {
		return f, notFound("refund", err)
	}
	return f, nil
}

// Refunds lists a payment's refunds, oldest first.
func (l *DB) Refunds(ctx context.Context, transID string) ([]huduma.Refund, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE r.trans_id = $1 ORDER BY f.id`, huduma.NormalizeTransID(transID))
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	defer rows.Close()
	var out []huduma.Refund
	for rows.Next() {
		f, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("list refunds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// QueueRefund records a refund of all the money payment req.TransID
// holds, and its reversal job, in one transaction; the payment is
// refunding until the outcome. It reports whether the refund was made now
// (false: req.Key was seen before, and its refund is returned). A
// payment that holds nothing, is being refunded, or has no M-Pesa receipt
// yet gives EConflict; a key used for another payment, EKeyReused.
func (l *DB) QueueRefund(ctx context.Context, req huduma.RefundRequest) (huduma.Refund, bool, error) {
	var out huduma.Refund
	created := false
	req.TransID = huduma.NormalizeTransID(req.TransID)
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if err := l.lock(ctx, tx, "payment:"+req.TransID); err != nil {
			return err
		}
		if req.Key != "" {
			f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.dedupe_key = $1`, req.Key))
			if err == nil {
				if f.TransID != req.TransID {
					return huduma.Errorf(huduma.EKeyReused, "this Idempotency-Key was already used to refund another payment")
				}
				out = f
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look up refund key: %w", err)
			}
		}
		p, err := l.paymentInTx(ctx, tx, `r.trans_id = $1`, req.TransID)
		if err != nil {
			return notFound("payment", err)
		}
		switch {
		case p.State == huduma.PaymentRefunding:
			return huduma.Errorf(huduma.EConflict, "payment %s is already being refunded", req.TransID)
		case p.Suspense == 0:
			return huduma.Errorf(huduma.EConflict, "payment %s holds nothing to refund (it is %s)", req.TransID, p.State)
		case p.Provisional():
			return huduma.Errorf(huduma.EConflict, "payment %s has no M-Pesa receipt yet; refund it once the pull worker or a statement brings it", req.TransID)
		}
		now := ms(l.now())
		var key any
		if req.Key != "" {
			key = req.Key
		}
		out = huduma.Refund{TransID: p.TransID, Amount: p.Suspense, Status: huduma.RefundQueued, RequestedBy: req.Actor, Remarks: req.Remarks,
			CreatedAt: fromMS(now), UpdatedAt: fromMS(now)}
		if err := tx.QueryRowContext(ctx, `INSERT INTO refunds (payment_id, amount, status, dedupe_key, requested_by, remarks, created_at, updated_at)
			VALUES ($1, $2, 'queued', $3, $4, $5, $6, $6) RETURNING id`, p.ID, p.Suspense, key, clip(req.Actor, 100), clip(req.Remarks, 100), now).Scan(&out.ID); err != nil {
			return fmt.Errorf("record refund: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET state = 'refunding', updated_at = $2 WHERE id = $1`, p.ID, now); err != nil {
			return fmt.Errorf("mark payment refunding: %w", err)
		}
		if err := l.enqueue(ctx, tx, huduma.JobReversal, huduma.RefundJob{RefundID: out.ID}, l.now()); err != nil {
			return err
		}
		created = true
		l.onCommit(tx, func(o Observer) { o.Suspense(SuspenseRefundRequested) })
		return l.audit(ctx, tx, "payment", p.TransID, "refund_requested", map[string]any{"refund": out.ID, "amount": out.Amount, "actor": req.Actor})
	})
	return out, created, err
}

// ClaimRefund moves a queued refund to sending, committed before the
// caller talks to Daraja: only one caller ever wins, so the reversal is
// sent at most once. It reports whether this caller won.
func (l *DB) ClaimRefund(ctx context.Context, id int64) (huduma.Refund, bool, error) {
	var f huduma.Refund
	won := false
	err := l.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'sending', updated_at = $2 WHERE id = $1 AND status = 'queued'`, id, ms(l.now()))
		if err != nil {
			return fmt.Errorf("claim refund: %w", err)
		}
		if f, err = scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.id = $1`, id)); err != nil {
			return notFound("refund", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		won = true
		return l.audit(ctx, tx, "payment", f.TransID, "refund_sending", map[string]any{"refund": id})
	})
	return f, won, err
}

// UnclaimRefund puts a sending refund back to queued, for a request that
// certainly never reached Daraja (why says how we know).
func (l *DB) UnclaimRefund(ctx context.Context, id int64, why string) error {
	return l.refundStep(ctx, id, huduma.RefundSending, `status = 'queued'`, nil, "refund_not_sent", map[string]any{"refund": id, "why": huduma.Redact(why)})
}

// MarkRefundSent records that Daraja accepted the reversal.
func (l *DB) MarkRefundSent(ctx context.Context, id int64, acc huduma.ReversalAccepted) error {
	return l.refundStep(ctx, id, huduma.RefundSending, `status = 'sent', conversation_id = NULLIF($3, ''), originator_conversation_id = NULLIF($4, '')`,
		[]any{acc.ConversationID, acc.OriginatorConversationID}, "refund_sent", map[string]any{"refund": id, "conversation": acc.ConversationID})
}

// MarkRefundUnknown records that the reversal's request may or may not
// have reached Daraja (a timeout): it stays sending, is never sent again
// on its own, and its result, if one comes, still settles it.
func (l *DB) MarkRefundUnknown(ctx context.Context, id int64, why string) error {
	return l.refundStep(ctx, id, huduma.RefundSending, `status = 'sending'`, nil, "refund_outcome_unknown", map[string]any{"refund": id, "why": huduma.Redact(why)})
}

// refundStep moves refund id from status `from` by set, with its audit row.
func (l *DB) refundStep(ctx context.Context, id int64, from huduma.RefundStatus, set string, args []any, action string, detail map[string]any) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.id = $1`+l.d.ForUpdate, id))
		if err != nil {
			return notFound("refund", err)
		}
		if f.Status != from {
			return huduma.Errorf(huduma.EConflict, "refund %d is %s, not %s", id, f.Status, from)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET `+set+`, updated_at = $2 WHERE id = $1`, append([]any{id, ms(l.now())}, args...)...); err != nil {
			return fmt.Errorf("update refund: %w", err)
		}
		return l.audit(ctx, tx, "payment", f.TransID, action, detail)
	})
}

// FailRefund ends a refund that Daraja refused outright: the money is
// held again, with the reason.
func (l *DB) FailRefund(ctx context.Context, id int64, code, desc string) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.id = $1`+l.d.ForUpdate, id))
		if err != nil {
			return notFound("refund", err)
		}
		if f.Status == huduma.RefundSucceeded || f.Status == huduma.RefundFailed {
			return nil
		}
		return l.endRefund(ctx, tx, f, huduma.ReversalResult{ResultCode: code, ResultDesc: desc}, nil)
	})
}

// SettleReversal applies a reversal's result: success moves the held
// money to refunded and texts the payer; a failure ends the refund failed
// and holds the money again with the reason. A queue timeout is no
// answer (huduma.OutcomeRefundTimedOut): it is kept on the refund, which
// stays unresolved and its payment refunding, so no second refund or apply can
// take the money while Daraja may still reverse it, and a result that
// follows, success or failure, settles it as if on time. The refund is
// found by Daraja's conversation ids or, when its request's answer was
// lost, by the payment it reverses. A repeat changes nothing
// (huduma.OutcomeDuplicate); a result for no refund of ours is
// huduma.OutcomeUnknown.
func (l *DB) SettleReversal(ctx context.Context, res huduma.ReversalResult, t huduma.PaymentTexts) (huduma.Outcome, error) {
	var out huduma.Outcome
	err := l.tx(ctx, func(tx *sql.Tx) error {
		f, err := l.refundForResult(ctx, tx, res)
		if errors.Is(err, sql.ErrNoRows) {
			out = huduma.OutcomeUnknown
			return nil
		}
		if err != nil {
			return err
		}
		if f.Status == huduma.RefundSucceeded || f.Status == huduma.RefundFailed {
			out = huduma.OutcomeDuplicate
			return nil
		}
		if err := l.lock(ctx, tx, "payment:"+f.TransID); err != nil {
			return err
		}
		if res.TimedOut {
			out = huduma.OutcomeRefundTimedOut
			if f.ResultCode != "" {
				out = huduma.OutcomeDuplicate // the timeout came before
				return nil
			}
			return l.refundTimedOut(ctx, tx, f, res)
		}
		out = huduma.OutcomeRefundFailed
		if res.ResultCode == "0" {
			out = huduma.OutcomeRefunded
		}
		return l.endRefund(ctx, tx, f, res, t)
	})
	return out, err
}

// refundTimedOut keeps a queue timeout on refund f as its result so far;
// its status (sending or sent) and its payment stay as they are. Only an
// unresolved refund with a timeout has a result code (endRefund writes
// the others'), which is how a repeat is told.
func (l *DB) refundTimedOut(ctx context.Context, tx *sql.Tx, f huduma.Refund, res huduma.ReversalResult) error {
	code := res.ResultCode
	if code == "" {
		code = "timeout"
	}
	desc := "timed out in Daraja's queue; it may still be done: " + huduma.Redact(res.ResultDesc)
	if _, err := tx.ExecContext(ctx, `UPDATE refunds SET result_code = $2, result_desc = $3, updated_at = $4 WHERE id = $1`,
		f.ID, clip(code, 20), clip(desc, 300), ms(l.now())); err != nil {
		return fmt.Errorf("record refund timeout: %w", err)
	}
	return l.audit(ctx, tx, "payment", f.TransID, "refund_timed_out", map[string]any{"refund": f.ID, "code": res.ResultCode, "desc": desc})
}

// refundForResult finds (and locks) the refund a result is about.
func (l *DB) refundForResult(ctx context.Context, tx *sql.Tx, res huduma.ReversalResult) (huduma.Refund, error) {
	for _, q := range []struct{ where, v string }{{"f.originator_conversation_id = $1", res.OriginatorConversationID},
		{"f.conversation_id = $1", res.ConversationID}} {
		if q.v == "" {
			continue
		}
		f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE `+q.where+l.d.ForUpdate, q.v))
		if !errors.Is(err, sql.ErrNoRows) {
			return f, err
		}
	}
	if res.OriginalTransID == "" {
		return huduma.Refund{}, sql.ErrNoRows
	}
	// The request's answer never reached us: the refund on its way for
	// the payment the result names.
	return scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE r.trans_id = $1 AND f.status IN ('sending', 'sent')`+l.d.ForUpdate,
		huduma.NormalizeTransID(res.OriginalTransID)))
}

// endRefund records a refund's outcome in tx and moves its payment.
func (l *DB) endRefund(ctx context.Context, tx *sql.Tx, f huduma.Refund, res huduma.ReversalResult, t huduma.PaymentTexts) error {
	now := ms(l.now())
	desc := huduma.Redact(res.ResultDesc)
	ok := res.ResultCode == "0"
	status := huduma.RefundFailed
	if ok {
		status = huduma.RefundSucceeded
	}
	if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = $2, result_code = $3, result_desc = $4, updated_at = $5 WHERE id = $1`,
		f.ID, string(status), clip(res.ResultCode, 20), clip(desc, 300), now); err != nil {
		return fmt.Errorf("end refund: %w", err)
	}
	p, err := l.paymentInTx(ctx, tx, `r.trans_id = $1`, f.TransID)
	if err != nil {
		return fmt.Errorf("load refunded payment: %w", err)
	}
	event := SuspenseRefunded
	if !ok {
		event = SuspenseRefundFailed
	}
	l.onCommit(tx, func(o Observer) { o.Suspense(event) })
	if !ok {
		if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET state = 'suspense', reason = 'refund_failed', note = $2, updated_at = $3 WHERE id = $1`,
			p.ID, clip(desc, 300), now); err != nil {
			return fmt.Errorf("hold payment again: %w", err)
		}
		return l.audit(ctx, tx, "payment", f.TransID, "refund_failed", map[string]any{"refund": f.ID, "code": res.ResultCode, "desc": desc})
	}
	// The refund took what the payment held when it was asked for; the
	// payment held exactly that since (refunding blocks every other move,
	// and a queue timeout moved nothing), so a late success after a
	// timeout moves it exactly as an on-time one.
	if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET suspense = suspense - $2, refunded = refunded + $2,
		state = CASE WHEN suspense - $2 > 0 THEN 'suspense' ELSE 'refunded' END, suspense_since = CASE WHEN suspense - $2 > 0 THEN suspense_since END,
		updated_at = $3 WHERE id = $1`, p.ID, f.Amount, now); err != nil {
		return fmt.Errorf("mark payment refunded: %w", err)
	}
	if err := l.move(ctx, tx, p.ID, "suspense", "refunded", f.Amount, "", p.Reason, f.RequestedBy); err != nil {
		return err
	}
	if err := l.audit(ctx, tx, "payment", f.TransID, "refunded", map[string]any{"refund": f.ID, "amount": f.Amount}); err != nil {
		return err
	}
	var inv *huduma.Invoice
	if p.Invoice != "" {
		if x, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE number = $1`, string(p.Invoice))); err == nil {
			inv = &x
		}
	}
	return l.notify(ctx, tx, t, huduma.PaymentNotice{Kind: huduma.NoticeRefunded, Payment: p, Invoice: inv, Amount: f.Amount},
		fmt.Sprintf("refund:%d:done", f.ID))
}
