package sqlstore

import (
	"context"
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
