package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/huduma-ke/huduma"
)

// Suspense lists held payments, longest held first: those held at least
// f.OlderThan, of f.Reason and f.Agency when given.
func (l *DB) Suspense(ctx context.Context, f huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := []string{"r.suspense > 0", "r.suspense_since <= $1"}, []any{ms(l.now().Add(-f.OlderThan))}
	if f.Reason != "" {
		args = append(args, string(f.Reason))
		where = append(where, fmt.Sprintf("r.reason = $%d", len(args)))
	}
	if f.Agency != "" {
		args = append(args, f.Agency)
		where = append(where, fmt.Sprintf("s.agency_code = $%d", len(args)))
	}
	args = append(args, limit)
	rows, err := l.db.QueryContext(ctx, `SELECT `+paymentCols+paymentFrom+` WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY r.suspense_since, r.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list suspense: %w", err)
	}
	defer rows.Close()
	var out []huduma.ReceivedPayment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("list suspense: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// LedgerTotals sums the ledger: money in and where it is.
func (l *DB) LedgerTotals(ctx context.Context) (huduma.LedgerTotals, error) {
	var t huduma.LedgerTotals
	err := l.db.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(amount), 0), COALESCE(sum(applied), 0), COALESCE(sum(suspense), 0),
		COALESCE(sum(refunded), 0) FROM received_payments`).Scan(&t.Payments, &t.In, &t.Applied, &t.Suspense, &t.Refunded)
	if err != nil {
		return t, fmt.Errorf("ledger totals: %w", err)
	}
	return t, nil
}

// VerifyLedger checks what the schema's constraints cannot: that the
// journal accounts for every payment's buckets, that every invoice
// received exactly what was applied to it, and that an invoice is paid
// exactly when that reaches its total. It returns each disagreement found
// (none: the ledger balances).
func (l *DB) VerifyLedger(ctx context.Context) ([]string, error) {
	checks := []struct{ what, query string }{
		{"journal disagrees with payment", `SELECT r.trans_id FROM received_payments r LEFT JOIN (
			SELECT payment_id,
			  sum(CASE WHEN to_bucket = 'applied' THEN amount ELSE 0 END) AS applied,
			  sum(CASE WHEN to_bucket = 'suspense' THEN amount ELSE 0 END) - sum(CASE WHEN from_bucket = 'suspense' THEN amount ELSE 0 END) AS suspense,
			  sum(CASE WHEN to_bucket = 'refunded' THEN amount ELSE 0 END) AS refunded
			FROM payment_moves GROUP BY payment_id) m ON m.payment_id = r.id
			WHERE COALESCE(m.applied, 0) <> r.applied OR COALESCE(m.suspense, 0) <> r.suspense OR COALESCE(m.refunded, 0) <> r.refunded`},
		{"invoice received disagrees with journal", `SELECT i.number FROM invoices i LEFT JOIN (
			SELECT invoice_number, sum(amount) AS applied FROM payment_moves WHERE to_bucket = 'applied' GROUP BY invoice_number) m
			ON m.invoice_number = i.number WHERE i.amount_received <> COALESCE(m.applied, 0)`},
		{"invoice paid but not received in full, or received in full but not paid", `SELECT number FROM invoices
			WHERE (total > 0 AND (status = 'paid') <> (amount_received = total)) OR amount_received > total`},
	}
	var out []string
	for _, c := range checks {
		rows, err := l.db.QueryContext(ctx, c.query)
		if err != nil {
			return nil, fmt.Errorf("verify ledger: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("verify ledger: %w", err)
			}
			out = append(out, c.what+": "+id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("verify ledger: %w", err)
		}
	}
	return out, nil
}
