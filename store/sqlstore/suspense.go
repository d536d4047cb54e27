package sqlstore

import (
	"context"
	"database/sql"
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

// ApplyPayment applies held money of payment transID to invoice number,
// by the accumulate rule: as much as the invoice still needs; what is
// left stays held (overpaid). The payment must be held and not being
// refunded, the invoice payable (EConflict otherwise). actor names the
// officer, for the journal and the audit log.
func (l *DB) ApplyPayment(ctx context.Context, transID string, number huduma.InvoiceNumber, actor string, t huduma.PaymentTexts) (huduma.Settlement, error) {
	var s huduma.Settlement
	transID = huduma.NormalizeTransID(transID)
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if err := l.lock(ctx, tx, "payment:"+transID); err != nil {
			return err
		}
		p, err := l.paymentInTx(ctx, tx, `r.trans_id = $1`, transID)
		if err != nil {
			return notFound("payment", err)
		}
		switch p.State {
		case huduma.PaymentRefunding:
			return huduma.Errorf(huduma.EConflict, "payment %s is being refunded", transID)
		case huduma.PaymentApplied, huduma.PaymentRefunded:
			return huduma.Errorf(huduma.EConflict, "payment %s holds nothing (it is %s)", transID, p.State)
		}
		inv, err := l.invoiceForUpdate(ctx, tx, number)
		if err != nil {
			return err
		}
		switch {
		case inv == nil:
			return huduma.Errorf(huduma.ENotFound, "no invoice %s", number)
		case inv.Status == huduma.InvoicePaid || inv.Due() == 0:
			return huduma.Errorf(huduma.EConflict, "invoice %s is already paid", number)
		case inv.Status == huduma.InvoiceExpired:
			return huduma.Errorf(huduma.EConflict, "invoice %s has expired; apply the payment to a new invoice", number)
		}
		amount := min(p.Suspense, inv.Due())
		left := p.Suspense - amount
		state, reason := huduma.PaymentApplied, p.Reason
		var since any
		if left > 0 {
			state, reason, since = huduma.PaymentSuspense, huduma.ReasonOverpaid, ms(l.now())
			if p.SuspenseSince != nil {
				since = ms(*p.SuspenseSince)
			}
		}
		// invoice_number stays the invoice the account named: the journal
		// says where the money went.
		if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET applied = applied + $2, suspense = suspense - $2, state = $3, reason = $4,
			suspense_since = $5, updated_at = $6 WHERE id = $1`, p.ID, amount, string(state), string(reason), since, ms(l.now())); err != nil {
			return fmt.Errorf("apply payment: %w", err)
		}
		if err := l.audit(ctx, tx, "payment", p.TransID, "applied", map[string]any{"invoice": inv.Number, "amount": amount, "left": left, "actor": actor}); err != nil {
			return err
		}
		p.Applied, p.Suspense, p.State, p.Reason = p.Applied+amount, left, state, reason
		after, paid, err := l.credit(ctx, tx, *inv, p, amount, "suspense", actor, t)
		if err != nil {
			return err
		}
		l.onCommit(tx, func(o Observer) { o.Suspense(SuspenseApplied) })
		s = huduma.Settlement{Outcome: huduma.OutcomePartial, Invoice: inv.Number, Applied: amount, Suspense: left}
		switch {
		case paid && left > 0:
			s.Outcome, s.Reason = huduma.OutcomeOverpaid, huduma.ReasonOverpaid
		case paid:
			s.Outcome = huduma.OutcomePaid
		}
		return l.notify(ctx, tx, t, huduma.PaymentNotice{Kind: huduma.NoticeApplied, Payment: p, Invoice: &after, Amount: amount},
			"payment:"+p.TransID+":applied:"+string(inv.Number))
	})
	return s, err
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
