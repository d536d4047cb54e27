package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/huduma-ke/huduma"
)

const appCols = `number, service_code, service_name, phone, reference, COALESCE(invoice_number, ''), status, note, created_at, updated_at`

func scanApp(r interface{ Scan(...any) error }) (huduma.Application, error) {
	var a huduma.Application
	var phone, status string
	var c, u int64
	err := r.Scan(&a.Number, &a.ServiceCode, &a.ServiceName, &phone, &a.Reference, &a.Invoice, &status, &a.Note, &c, &u)
	a.Phone, a.Status, a.CreatedAt, a.UpdatedAt = huduma.MSISDN(phone), huduma.ApplicationStatus(status), fromMS(c), fromMS(u)
	return a, err
}

// createApplication adds a submitted application in tx under a fresh
// 10-digit check-digit number and returns the number. With an invoice it
// is at most one per invoice (a repeat returns the one it has).
func (l *DB) createApplication(ctx context.Context, tx *sql.Tx, a huduma.Application) (string, error) {
	now := ms(l.now())
	var inv any
	if a.Invoice != "" {
		inv = a.Invoice
		var have string
		err := tx.QueryRowContext(ctx, `SELECT number FROM applications WHERE invoice_number = $1`, a.Invoice).Scan(&have)
		if err == nil {
			return have, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("check application: %w", err)
		}
	}
	for try := 0; try < 5; try++ {
		number := string(huduma.NewInvoiceNumber())
		r, err := tx.ExecContext(ctx, `INSERT INTO applications (number, service_code, service_name, phone, reference, invoice_number, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $7) ON CONFLICT (number) DO NOTHING`,
			number, a.ServiceCode, a.ServiceName, string(a.Phone), a.Reference, inv, now)
		if err != nil {
			return "", fmt.Errorf("insert application: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_history (number, status, at) VALUES ($1, 'submitted', $2)`, number, now); err != nil {
			return "", fmt.Errorf("application history: %w", err)
		}
		return number, l.audit(ctx, tx, "application", number, "submitted", map[string]any{"invoice": a.Invoice})
	}
	return "", fmt.Errorf("insert application: no free number after 5 draws")
}

// CreateApplication adds a submitted application (agency API).
func (l *DB) CreateApplication(ctx context.Context, a huduma.Application) (huduma.Application, error) {
	var number string
	err := l.tx(ctx, func(tx *sql.Tx) error {
		var err error
		number, err = l.createApplication(ctx, tx, a)
		return err
	})
	if err != nil {
		return huduma.Application{}, err
	}
	return l.Application(ctx, number)
}

// Application returns an application with its history.
func (l *DB) Application(ctx context.Context, number string) (huduma.Application, error) {
	a, err := scanApp(l.db.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE number = $1`, number))
	if err != nil {
		return a, notFound("application", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT status, note, at FROM application_history WHERE number = $1 ORDER BY id`, number)
	if err != nil {
		return a, fmt.Errorf("application history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e huduma.AppEvent
		var st string
		var at int64
		if err := rows.Scan(&st, &e.Note, &at); err != nil {
			return a, fmt.Errorf("application history: %w", err)
		}
		e.Status, e.At = huduma.ApplicationStatus(st), fromMS(at)
		a.History = append(a.History, e)
	}
	return a, rows.Err()
}

// TrackApplication returns the application a person means by number: the
// application with that number or the one the invoice with that number
// opened. Both are 10-digit numbers drawn alike, so one can be both; then
// the one of phone (the person asking) wins, else the application's own
// number.
func (l *DB) TrackApplication(ctx context.Context, number string, phone huduma.MSISDN) (huduma.Application, error) {
	var found string
	err := l.db.QueryRowContext(ctx, `SELECT number FROM applications WHERE number = $1 OR invoice_number = $1
		ORDER BY CASE WHEN phone = $2 THEN 0 ELSE 1 END, CASE WHEN number = $1 THEN 0 ELSE 1 END LIMIT 1`, number, string(phone)).Scan(&found)
	if err != nil {
		return huduma.Application{}, notFound("application", err)
	}
	return l.Application(ctx, found)
}

// ApplicationForInvoice returns the application a paid invoice opened.
func (l *DB) ApplicationForInvoice(ctx context.Context, invoice huduma.InvoiceNumber) (huduma.Application, error) {
	var number string
	if err := l.db.QueryRowContext(ctx, `SELECT number FROM applications WHERE invoice_number = $1`, string(invoice)).Scan(&number); err != nil {
		return huduma.Application{}, notFound("application", err)
	}
	return l.Application(ctx, number)
}

// UpdateApplication records a status change with its history row, audit
// row and the SMS to the applicant, in one transaction. msg builds the SMS
// inside that transaction, so it must not touch the database (the embedded
// backend has one connection).
func (l *DB) UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string, msg func(huduma.Application) huduma.Message) (huduma.Application, error) {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE number = $1`+l.d.ForUpdate, number))
		if err != nil {
			return notFound("application", err)
		}
		now := ms(l.now())
		if _, err := tx.ExecContext(ctx, `UPDATE applications SET status = $2, note = $3, updated_at = $4 WHERE number = $1`, number, string(status), note, now); err != nil {
			return fmt.Errorf("update application: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_history (number, status, note, at) VALUES ($1, $2, $3, $4)`, number, string(status), note, now); err != nil {
			return fmt.Errorf("application history: %w", err)
		}
		if err := l.audit(ctx, tx, "application", number, "status:"+string(status), nil); err != nil {
			return err
		}
		a.Status, a.Note, a.UpdatedAt = status, note, fromMS(now)
		return l.queueMessage(ctx, tx, msg(a), "")
	})
	if err != nil {
		return huduma.Application{}, err
	}
	return l.Application(ctx, number)
}
