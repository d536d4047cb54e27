package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/huduma-ke/huduma"
)

// SettlementReport sums one EAT day (the 24 hours from day) per agency:
// invoices paid in full, money applied, and money put into and taken out
// of suspense (huduma.SettlementRow). agency "" reports every agency.
func (l *DB) SettlementReport(ctx context.Context, day time.Time, agency string) ([]huduma.SettlementRow, error) {
	from, to := ms(day), ms(day.Add(24*time.Hour))
	rows := map[string]*huduma.SettlementRow{}
	row := func(a string) *huduma.SettlementRow {
		if rows[a] == nil {
			rows[a] = &huduma.SettlementRow{Date: day.In(huduma.EAT).Format("2006-01-02"), Agency: a}
		}
		return rows[a]
	}
	// The agency of a payment's suspense is the one of the invoice its
	// account named; of money applied, the one of the invoice it went to.
	queries := []struct {
		q    string
		scan func(a string, n int, x, y, z int64)
	}{
		{`SELECT COALESCE(s.agency_code, ''), count(*), COALESCE(sum(i.fee), 0), COALESCE(sum(i.convenience_fee), 0), COALESCE(sum(i.total), 0)
			FROM invoices i LEFT JOIN services s ON s.code = i.service_code WHERE i.status = 'paid' AND i.paid_at >= $1 AND i.paid_at < $2 GROUP BY 1`,
			func(a string, n int, x, y, z int64) {
				r := row(a)
				r.InvoicesPaid, r.Fees, r.ConvenienceFees, r.Total = n, x, y, z
			}},
		{`SELECT COALESCE(s.agency_code, ''), count(*), COALESCE(sum(m.amount), 0), 0, 0 FROM payment_moves m
			LEFT JOIN invoices i ON i.number = m.invoice_number LEFT JOIN services s ON s.code = i.service_code
			WHERE m.to_bucket = 'applied' AND m.at >= $1 AND m.at < $2 GROUP BY 1`,
			func(a string, _ int, x, _, _ int64) { row(a).Applied = x }},
		{`SELECT COALESCE(s.agency_code, ''), count(DISTINCT m.payment_id), COALESCE(sum(m.amount), 0), 0, 0 FROM payment_moves m
			JOIN received_payments r ON r.id = m.payment_id LEFT JOIN invoices i ON i.number = r.invoice_number LEFT JOIN services s ON s.code = i.service_code
			WHERE m.to_bucket = 'suspense' AND m.at >= $1 AND m.at < $2 GROUP BY 1`,
			func(a string, n int, x, _, _ int64) { r := row(a); r.SuspenseOpened, r.SuspenseOpenedAmount = n, x }},
		{`SELECT COALESCE(s.agency_code, ''), count(DISTINCT m.payment_id), COALESCE(sum(m.amount), 0),
			COALESCE(sum(CASE WHEN m.to_bucket = 'refunded' THEN m.amount ELSE 0 END), 0), 0 FROM payment_moves m
			JOIN received_payments r ON r.id = m.payment_id LEFT JOIN invoices i ON i.number = r.invoice_number LEFT JOIN services s ON s.code = i.service_code
			WHERE m.from_bucket = 'suspense' AND m.at >= $1 AND m.at < $2 GROUP BY 1`,
			func(a string, n int, x, y, _ int64) {
				r := row(a)
				r.SuspenseClosed, r.SuspenseClosedAmount, r.Refunded = n, x, y
			}},
	}
	for _, q := range queries {
		rs, err := l.db.QueryContext(ctx, q.q, from, to)
		if err != nil {
			return nil, fmt.Errorf("settlement report: %w", err)
		}
		for rs.Next() {
			var a string
			var n int
			var x, y, z int64
			if err := rs.Scan(&a, &n, &x, &y, &z); err != nil {
				rs.Close()
				return nil, fmt.Errorf("settlement report: %w", err)
			}
			q.scan(a, n, x, y, z)
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, fmt.Errorf("settlement report: %w", err)
		}
	}
	out := []huduma.SettlementRow{}
	for a, r := range rows {
		if agency == "" || a == agency {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Agency < out[j].Agency })
	return out, nil
}

// PaymentsBetween lists the payments M-Pesa completed between from and
// to (inclusive), oldest first: the ledger's side of a statement.
func (l *DB) PaymentsBetween(ctx context.Context, from, to time.Time) ([]huduma.ReceivedPayment, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+paymentCols+paymentFrom+` WHERE r.paid_at >= $1 AND r.paid_at <= $2 ORDER BY r.paid_at, r.id`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	var out []huduma.ReceivedPayment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
