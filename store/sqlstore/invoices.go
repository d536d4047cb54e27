package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/huduma-ke/huduma"
)

const invoiceCols = `number, service_code, service_name, phone, fields, fee, convenience_fee, total, amount_received, status, reason,
	COALESCE(mpesa_receipt, ''), language, created_at, expires_at, paid_at, COALESCE(bill_number, '')`

func scanInvoice(r interface{ Scan(...any) error }) (huduma.Invoice, error) {
	var inv huduma.Invoice
	var number, phone, fields, status, lang string
	var created, expires int64
	var paid sql.NullInt64
	if err := r.Scan(&number, &inv.ServiceCode, &inv.ServiceName, &phone, &fields, &inv.Fee, &inv.ConvenienceFee, &inv.Total, &inv.Received,
		&status, &inv.Reason, &inv.MpesaReceipt, &lang, &created, &expires, &paid, &inv.Bill); err != nil {
		return inv, err
	}
	inv.Number, inv.Phone, inv.Status, inv.Language = huduma.InvoiceNumber(number), huduma.MSISDN(phone), huduma.InvoiceStatus(status), huduma.Language(lang)
	inv.CreatedAt, inv.ExpiresAt = fromMS(created), fromMS(expires)
	if paid.Valid {
		t := fromMS(paid.Int64)
		inv.PaidAt = &t
	}
	if err := json.Unmarshal([]byte(fields), &inv.Fields); err != nil {
		return inv, fmt.Errorf("decode invoice fields: %w", err)
	}
	if len(inv.Fields) == 0 {
		inv.Fields = nil
	}
	return inv, nil
}

// scanFunc adapts a function to the Scan interface scanInvoice reads.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// Invoice returns an invoice by number, with the number of the
// application it opened once paid.
func (l *DB) Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error) {
	var app string
	row := l.db.QueryRowContext(ctx, `SELECT `+invoiceCols+`, COALESCE((SELECT a.number FROM applications a WHERE a.invoice_number = invoices.number), '')
		FROM invoices WHERE number = $1`, string(number))
	inv, err := scanInvoice(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &app)...) }))
	if err != nil {
		return inv, notFound("invoice", err)
	}
	inv.Application = app
	return inv, nil
}

// InvoicesByPhone lists a phone's invoices, newest first.
func (l *DB) InvoicesByPhone(ctx context.Context, phone huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error) {
	return l.invoicesWhere(ctx, `phone = $1 ORDER BY created_at DESC, number LIMIT $2 OFFSET $3`, string(phone), limit, max(offset, 0))
}

// invoicesWhere reads the invoices a WHERE clause picks.
func (l *DB) invoicesWhere(ctx context.Context, where string, args ...any) ([]huduma.Invoice, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list invoices: %w", err)
	}
	defer rows.Close()
	var out []huduma.Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, fmt.Errorf("list invoices: %w", err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

const attemptCols = `id, invoice_number, payer, amount, status, COALESCE(checkout_request_id, ''), merchant_request_id, result_code, result_desc, created_at, updated_at`

func scanAttempt(r interface{ Scan(...any) error }) (huduma.Attempt, error) {
	var a huduma.Attempt
	var inv, payer, status string
	var c, u int64
	err := r.Scan(&a.ID, &inv, &payer, &a.Amount, &status, &a.CheckoutRequestID, &a.MerchantRequestID, &a.ResultCode, &a.ResultDesc, &c, &u)
	a.Invoice, a.Payer, a.Status, a.CreatedAt, a.UpdatedAt = huduma.InvoiceNumber(inv), huduma.MSISDN(payer), huduma.AttemptStatus(status), fromMS(c), fromMS(u)
	return a, err
}

// Attempt returns an attempt by id.
func (l *DB) Attempt(ctx context.Context, id int64) (huduma.Attempt, error) {
	a, err := scanAttempt(l.db.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE id = $1`, id))
	if err != nil {
		return a, notFound("payment attempt", err)
	}
	return a, nil
}

// AttemptByCheckout returns the attempt Daraja knows by checkoutID.
func (l *DB) AttemptByCheckout(ctx context.Context, checkoutID string) (huduma.Attempt, error) {
	a, err := scanAttempt(l.db.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE checkout_request_id = $1`, checkoutID))
	if err != nil {
		return a, notFound("payment attempt", err)
	}
	return a, nil
}

// ExpiryCandidates lists up to limit invoices that look payable and past
// their expiry, in number order: the sweep settles each (the rules decide,
// under the invoice's lock, whether it expires).
func (l *DB) ExpiryCandidates(ctx context.Context, limit int) ([]huduma.InvoiceNumber, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT number FROM invoices WHERE status IN ('pending', 'failed', 'cancelled') AND expires_at <= $1
		ORDER BY number LIMIT $2`, ms(l.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("find expired invoices: %w", err)
	}
	defer rows.Close()
	var out []huduma.InvoiceNumber
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("find expired invoices: %w", err)
		}
		out = append(out, huduma.InvoiceNumber(n))
	}
	return out, rows.Err()
}

// UnpaidInvoices lists invoices not paid (pending, failed, cancelled or
// expired), oldest first, up to limit: what the bills report reads.
func (l *DB) UnpaidInvoices(ctx context.Context, limit int) ([]huduma.Invoice, error) {
	return l.invoicesWhere(ctx, `status <> 'paid' ORDER BY created_at, number LIMIT $1`, limit)
}
