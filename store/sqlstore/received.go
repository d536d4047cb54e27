package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/huduma-ke/huduma"
)

// The suspense ledger (docs/finance.md, "Money that matches nothing"):
// every M-Pesa transaction is recorded once in received_payments, by its
// transaction id, and split by the accumulate rule into applied, suspense and
// refunded. Every movement between those buckets is a payment_moves row,
// written in the same transaction as the change, its audit row and its
// text.
//
// Locks are always taken in one order, so two settlements never wait on
// each other in a circle: the prompt (payment_attempts row), then the
// transaction id (a named lock), then the invoice row.

const paymentCols = `r.id, r.trans_id, r.source, r.account, COALESCE(r.invoice_number, ''), COALESCE(s.agency_code, ''), r.amount, r.applied,
	r.suspense, r.refunded, r.state, r.reason, r.note, r.msisdn, r.phone, r.paid_at, r.received_at, r.suspense_since`

// paymentFrom joins a payment to its invoice's agency.
const paymentFrom = ` FROM received_payments r LEFT JOIN invoices i ON i.number = r.invoice_number LEFT JOIN services s ON s.code = i.service_code`

func scanPayment(r interface{ Scan(...any) error }) (huduma.ReceivedPayment, error) {
	var p huduma.ReceivedPayment
	var src, inv, state, reason, phone string
	var paid, recv int64
	var since sql.NullInt64
	err := r.Scan(&p.ID, &p.TransID, &src, &p.Account, &inv, &p.Agency, &p.Amount, &p.Applied, &p.Suspense, &p.Refunded, &state, &reason,
		&p.Note, &p.Payer, &phone, &paid, &recv, &since)
	p.Source, p.Invoice, p.State, p.Reason, p.Phone = huduma.PaymentSource(src), huduma.InvoiceNumber(inv), huduma.PaymentState(state), huduma.SuspenseReason(reason), huduma.MSISDN(phone)
	p.PaidAt, p.ReceivedAt = fromMS(paid), fromMS(recv)
	if since.Valid {
		t := fromMS(since.Int64)
		p.SuspenseSince = &t
	}
	return p, err
}

// PaymentByTrans returns a received payment by its M-Pesa transaction id.
func (l *DB) PaymentByTrans(ctx context.Context, transID string) (huduma.ReceivedPayment, error) {
	p, err := scanPayment(l.db.QueryRowContext(ctx, `SELECT `+paymentCols+paymentFrom+` WHERE r.trans_id = $1`, huduma.NormalizeTransID(transID)))
	if err != nil {
		return p, notFound("payment", err)
	}
	return p, nil
}

// clip bounds text from outside (an account typed on a phone) and makes
// it one clean line (huduma.CleanLine): no NUL, which Postgres refuses in
// text, and no terminal escapes for an officer's screen.
func clip(s string, n int) string {
	s = huduma.CleanLine(s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}
