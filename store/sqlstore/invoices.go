package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

const invoiceCols = `number, service_code, service_name, phone, fields, fee, convenience_fee, total, amount_received, status, reason,
	COALESCE(mpesa_receipt, ''), language, created_at, expires_at, paid_at`

func scanInvoice(r interface{ Scan(...any) error }) (huduma.Invoice, error) {
	var inv huduma.Invoice
	var number, phone, fields, status, lang string
	var created, expires int64
	var paid sql.NullInt64
	if err := r.Scan(&number, &inv.ServiceCode, &inv.ServiceName, &phone, &fields, &inv.Fee, &inv.ConvenienceFee, &inv.Total, &inv.Received,
		&status, &inv.Reason, &inv.MpesaReceipt, &lang, &created, &expires, &paid); err != nil {
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

// errKeySeen rolls back an insert whose idempotency key was taken.
var errKeySeen = errors.New("idempotency key seen")

// CreateInvoice writes the invoice, its audit row, its SMS and its first
// prompt in one transaction. It returns the invoice and whether it was
// created now (false: the key was seen before). A number already taken
// gives an EConflict error; the caller draws another number.
func (l *DB) CreateInvoice(ctx context.Context, n huduma.InvoiceOrder) (huduma.Invoice, bool, error) {
	inv := n.Invoice
	if inv.Total != inv.Fee+inv.ConvenienceFee || inv.Fee < 0 {
		return inv, false, huduma.Errorf(huduma.EInvalid, "invoice total does not add up")
	}
	fields, err := json.Marshal(inv.Fields)
	if err != nil {
		return inv, false, fmt.Errorf("encode invoice fields: %w", err)
	}
	var key any
	if n.Key != "" {
		key = n.Key
	}
	// This is the one write on the USSD hop path, so it is kept to as few
	// round trips as the rules allow: a key seen before is found by the
	// insert doing nothing (no lookup first), and a new invoice's prompt
	// skips the checks for earlier prompts (there can be none) and shares
	// the invoice's audit statement.
	var seen bool
	err = l.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO invoices (number, service_code, service_name, phone, fields, fee, convenience_fee, total,
			status, language, idempotency_key, request_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (idempotency_key) DO NOTHING`,
			string(inv.Number), inv.ServiceCode, inv.ServiceName, string(inv.Phone), string(fields), inv.Fee, inv.ConvenienceFee, inv.Total,
			string(huduma.InvoicePending), string(inv.Language), key, n.RequestHash, ms(inv.CreatedAt), ms(inv.ExpiresAt))
		if err != nil {
			if isUnique(err) {
				return huduma.Errorf(huduma.EConflict, "invoice number already used")
			}
			return fmt.Errorf("insert invoice: %w", err)
		}
		if rows, err := r.RowsAffected(); err != nil {
			return fmt.Errorf("insert invoice: %w", err)
		} else if rows == 0 {
			seen = true // the key's invoice exists; roll back and return it
			return errKeySeen
		}
		l.onCommit(tx, func(o Observer) { o.InvoiceCreated() })
		audits := []auditRow{{"invoice", string(inv.Number), "created", map[string]any{"total": inv.Total, "service": inv.ServiceCode}}}
		if n.Message != nil {
			if err := l.queueMessage(ctx, tx, *n.Message, "invoice:"+string(inv.Number)); err != nil {
				return err
			}
		}
		if n.Push != nil {
			// Whoever asks for an invoice asks for its prompt: a prompt
			// to another phone than the invoice's is a stranger's.
			stranger := n.Push.Payer != inv.Phone
			if err := l.capStrangerPrompts(ctx, tx, n.Push.Payer, stranger); err != nil {
				return err
			}
			a, err := l.insertAttempt(ctx, tx, inv, n.Push.Payer, n.Push.RunAt, "", stranger)
			if err != nil {
				return err
			}
			audits = append(audits, pushAudit(inv.Number, a))
		}
		return l.auditRows(ctx, tx, audits...)
	})
	if seen {
		existing, err := l.invoiceByKey(ctx, n)
		if errors.Is(err, sql.ErrNoRows) {
			// Only a key whose invoice was deleted since could get here.
			return inv, false, huduma.Errorf(huduma.EConflict, "idempotency key already used")
		}
		return existing, false, err
	}
	if err != nil {
		if huduma.ErrorCode(err) == huduma.EConflict && n.Key != "" {
			// A racing call with the same key won: return its invoice (or
			// refuse, if it was made for another request).
			if existing, err2 := l.invoiceByKey(ctx, n); !errors.Is(err2, sql.ErrNoRows) {
				return existing, false, err2
			}
		}
		return inv, false, err
	}
	inv.Status = huduma.InvoicePending
	return inv, true, nil
}

// invoiceByKey returns the invoice made under n.Key, sql.ErrNoRows when
// there is none, or EKeyReused when it was made for another request.
func (l *DB) invoiceByKey(ctx context.Context, n huduma.InvoiceOrder) (huduma.Invoice, error) {
	var hash string
	row := l.db.QueryRowContext(ctx, `SELECT `+invoiceCols+`, request_hash FROM invoices WHERE idempotency_key = $1`, n.Key)
	inv, err := scanInvoice(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &hash)...) }))
	if errors.Is(err, sql.ErrNoRows) {
		return inv, err
	}
	if err != nil {
		return inv, fmt.Errorf("look up invoice key: %w", err)
	}
	if hash != "" && n.RequestHash != "" && hash != n.RequestHash {
		return huduma.Invoice{}, huduma.Errorf(huduma.EKeyReused, "this Idempotency-Key was already used for a different request; use a new key for a new invoice")
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
	rows, err := l.db.QueryContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE phone = $1 ORDER BY created_at DESC, number LIMIT $2 OFFSET $3`,
		string(phone), limit, max(offset, 0))
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

// QueuePush schedules a prompt for an invoice at runAt. It refuses a paid
// or expired invoice and an invoice with a prompt still in flight
// (EConflict), so there is at most one prompt at a time and a paid invoice
// is never pushed again. A non-empty key makes it idempotent: a second
// call with the key returns the prompt the first one queued. A prompt to
// another phone than the invoice's is a stranger's, and capped
// (SetPromptCap); QueuePushByPayer is for a prompt its payer asked for.
func (l *DB) QueuePush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, runAt time.Time, key string) (huduma.Attempt, error) {
	return l.queuePushFor(ctx, number, payer, runAt, key, false)
}

// QueuePushByPayer is QueuePush for a prompt the payer asked for from the
// phone it goes to, on a channel the network vouches for (a USSD
// session): it is nobody's stranger prompt, so it is neither refused by
// the cap nor counted in it.
func (l *DB) QueuePushByPayer(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, runAt time.Time, key string) (huduma.Attempt, error) {
	return l.queuePushFor(ctx, number, payer, runAt, key, true)
}

func (l *DB) queuePushFor(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, runAt time.Time, key string, byPayer bool) (huduma.Attempt, error) {
	var a huduma.Attempt
	err := l.tx(ctx, func(tx *sql.Tx) error {
		// The invoice's lock orders racing requests; the key is checked
		// under it.
		inv, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE number = $1`+l.d.ForUpdate, string(number)))
		if err != nil {
			return notFound("invoice", err)
		}
		if key != "" {
			a, err = scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE dedupe_key = $1`, key))
			if err == nil || !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		a, err = l.queuePush(ctx, tx, inv, payer, runAt, key, !byPayer && payer != inv.Phone)
		return err
	})
	return a, err
}

func (l *DB) queuePush(ctx context.Context, tx *sql.Tx, inv huduma.Invoice, payer huduma.MSISDN, runAt time.Time, key string, stranger bool) (huduma.Attempt, error) {
	if inv.Status == huduma.InvoicePaid {
		return huduma.Attempt{}, huduma.Errorf(huduma.EConflict, "invoice %s is already paid", inv.Number)
	}
	if inv.Status == huduma.InvoiceExpired || !l.now().Before(inv.ExpiresAt) {
		return huduma.Attempt{}, huduma.Errorf(huduma.EConflict, "invoice %s has expired", inv.Number)
	}
	now := l.now()
	var inflight int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_attempts WHERE invoice_number = $1 AND status IN ('queued', 'sent') AND updated_at > $2`,
		string(inv.Number), ms(now.Add(-huduma.PromptLife))).Scan(&inflight); err != nil {
		return huduma.Attempt{}, fmt.Errorf("check prompts in flight: %w", err)
	}
	if inflight > 0 {
		return huduma.Attempt{}, huduma.Errorf(huduma.EConflict, "a prompt for invoice %s is already on its way", inv.Number)
	}
	if err := l.capStrangerPrompts(ctx, tx, payer, stranger); err != nil {
		return huduma.Attempt{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'stale', updated_at = $2 WHERE invoice_number = $1 AND status IN ('queued', 'sent')`,
		string(inv.Number), ms(now)); err != nil {
		return huduma.Attempt{}, fmt.Errorf("retire stale prompts: %w", err)
	}
	a, err := l.insertAttempt(ctx, tx, inv, payer, runAt, key, stranger)
	if err != nil {
		return a, err
	}
	return a, l.auditRows(ctx, tx, pushAudit(inv.Number, a))
}

// insertAttempt writes a queued prompt for inv and its push job, without
// the checks queuePush makes first; stranger marks a prompt the cap
// counts.
func (l *DB) insertAttempt(ctx context.Context, tx *sql.Tx, inv huduma.Invoice, payer huduma.MSISDN, runAt time.Time, key string, stranger bool) (huduma.Attempt, error) {
	now := l.now()
	// A prompt asks for the balance due: payments accumulate.
	a := huduma.Attempt{Invoice: inv.Number, Payer: payer, Amount: inv.Due(), Status: huduma.AttemptQueued, CreatedAt: now, UpdatedAt: now}
	var dedupe any
	if key != "" {
		dedupe = key
	}
	flag := 0
	if stranger {
		flag = 1
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO payment_attempts (invoice_number, payer, amount, status, dedupe_key, stranger, created_at, updated_at)
		VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6) RETURNING id`, string(inv.Number), string(payer), a.Amount, dedupe, flag, ms(now)).Scan(&a.ID); err != nil {
		return a, fmt.Errorf("insert attempt: %w", err)
	}
	return a, l.enqueue(ctx, tx, huduma.JobPush, huduma.PromptJob{AttemptID: a.ID}, runAt)
}

func pushAudit(n huduma.InvoiceNumber, a huduma.Attempt) auditRow {
	return auditRow{"invoice", string(n), "push_queued", map[string]any{"attempt": a.ID, "payer": a.Payer.Masked()}}
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

// MarkPushSent records Daraja's acceptance of a prompt and schedules the
// status query for queryAt, in one transaction.
func (l *DB) MarkPushSent(ctx context.Context, id int64, res huduma.STKPushResult, queryAt time.Time) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'sent', checkout_request_id = $2, merchant_request_id = $3, updated_at = $4
			WHERE id = $1 AND status = 'queued'`, id, res.CheckoutRequestID, res.MerchantRequestID, ms(l.now()))
		if err != nil {
			return fmt.Errorf("mark prompt sent: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil // already moved on (a callback raced ahead, or stale)
		}
		if err := l.enqueue(ctx, tx, huduma.JobQuery, huduma.PromptJob{AttemptID: id}, queryAt); err != nil {
			return err
		}
		return l.audit(ctx, tx, "attempt", fmt.Sprint(id), "push_sent", map[string]any{"checkout": res.CheckoutRequestID})
	})
}

// MarkPushRejected records that a queued prompt was not sent because its
// invoice was paid or expired first, with the reason redacted. (A prompt
// given up for any other reason texts its payer: GiveUpPush.)
func (l *DB) MarkPushRejected(ctx context.Context, id int64, reason string) error {
	reason = huduma.Redact(reason)
	return l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'rejected', result_desc = $2, updated_at = $3 WHERE id = $1 AND status = 'queued'`,
			id, reason, ms(l.now())); err != nil {
			return fmt.Errorf("mark prompt rejected: %w", err)
		}
		return l.audit(ctx, tx, "attempt", fmt.Sprint(id), "push_rejected", map[string]any{"reason": reason})
	})
}

// SettleSTK applies a final prompt result (from a callback or a query).
// Success must carry the attempt's exact amount (else
// huduma.OutcomeMismatch: a forged or garbled callback, recorded and not
// applied; the pull worker finds the real transaction if there is one).
// The payment is recorded once by its M-Pesa receipt in the suspense
// ledger and applied by the accumulate rule, so a prompt for an invoice
// paid meanwhile is held for refund instead of lost. A query's success
// carries no receipt: the payment is recorded provisionally and takes its
// receipt from the callback, the pull worker or a statement, unless a
// paybill confirmation of it is already recorded, which it then is.
// Failure marks the attempt failed and the invoice cancelled (1032) or
// failed with the code as reason, unless it was paid meanwhile. Repeats
// change nothing (huduma.OutcomeDuplicate).
func (l *DB) SettleSTK(ctx context.Context, res huduma.STKResult, t huduma.PaymentTexts) (huduma.Outcome, error) {
	var out huduma.Outcome
	res.Receipt = huduma.NormalizeTransID(res.Receipt)
	err := l.tx(ctx, func(tx *sql.Tx) error {
		a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE checkout_request_id = $1`+l.d.ForUpdate, res.CheckoutRequestID))
		if errors.Is(err, sql.ErrNoRows) {
			out = huduma.OutcomeUnknown
			return nil
		}
		if err != nil {
			return fmt.Errorf("load attempt: %w", err)
		}
		if a.Status == huduma.AttemptSucceeded || a.Status == huduma.AttemptFailed {
			out = huduma.OutcomeDuplicate
			if a.Status == huduma.AttemptSucceeded && res.ResultCode == "0" && res.Receipt != "" && res.Amount == a.Amount {
				// The callback after the status query: the receipt at last.
				return l.receiptForPrompt(ctx, tx, a, res.Receipt)
			}
			return nil
		}
		now := l.now()
		if res.ResultCode != "0" {
			out = huduma.OutcomeFailed
			if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'failed', result_code = $2, result_desc = $3, updated_at = $4 WHERE id = $1`,
				a.ID, res.ResultCode, res.ResultDesc, ms(now)); err != nil {
				return fmt.Errorf("fail attempt: %w", err)
			}
			status := huduma.InvoiceFailed
			if res.ResultCode == "1032" {
				status = huduma.InvoiceCancelled
			}
			if _, err := tx.ExecContext(ctx, `UPDATE invoices SET status = $2, reason = $3 WHERE number = $1 AND status IN ('pending', 'failed', 'cancelled')`,
				string(a.Invoice), string(status), res.ResultCode); err != nil {
				return fmt.Errorf("fail invoice: %w", err)
			}
			return l.audit(ctx, tx, "invoice", string(a.Invoice), "payment_failed", map[string]any{"attempt": a.ID, "code": res.ResultCode})
		}
		if res.Amount != a.Amount {
			out = huduma.OutcomeMismatch
			return l.audit(ctx, tx, "invoice", string(a.Invoice), "callback_amount_mismatch", map[string]any{"attempt": a.ID, "amount": res.Amount, "want": a.Amount})
		}
		transID := res.Receipt
		if transID == "" {
			transID = huduma.ProvisionalPrefix + a.CheckoutRequestID
		}
		if err := l.lock(ctx, tx, "payment:"+transID); err != nil {
			return err
		}
		// The invoice is locked before looking for the payment this may
		// already be: a paybill confirmation or a pull of it, settling at
		// this moment under the invoice's lock, is then seen.
		if _, err := l.invoiceForUpdate(ctx, tx, a.Invoice); err != nil {
			return err
		}
		if res.Receipt != "" {
			seen, err := l.paymentInTx(ctx, tx, `r.trans_id = $1`, res.Receipt)
			switch {
			case err == nil && seen.Invoice != a.Invoice:
				out = huduma.OutcomeReceiptReused
				return l.audit(ctx, tx, "invoice", string(a.Invoice), "callback_receipt_reused", map[string]any{"attempt": a.ID, "receipt": res.Receipt})
			case err == nil:
				// Its paybill confirmation (or the pull worker) came first.
				out = huduma.OutcomeDuplicate
				return l.succeedPrompt(ctx, tx, a, seen.ID, res.ResultDesc)
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("look up payment: %w", err)
			}
		} else if id, ok, err := l.confirmedByPaybill(ctx, tx, a); err != nil || ok {
			out = huduma.OutcomeDuplicate
			if err != nil {
				return err
			}
			return l.succeedPrompt(ctx, tx, a, id, res.ResultDesc)
		}
		otherPayer := res.Phone != "" && strings.TrimPrefix(res.Phone, "+") != a.Payer.Digits()
		if otherPayer {
			if err := l.audit(ctx, tx, "invoice", string(a.Invoice), "callback_payer_mismatch", map[string]any{"attempt": a.ID,
				"prompted": a.Payer.Masked(), "callback": huduma.MaskPhone(res.Phone)}); err != nil {
				return err
			}
		}
		if err := l.succeedPrompt(ctx, tx, a, 0, res.ResultDesc); err != nil {
			return err
		}
		phone := a.Payer
		if p := fullPhone(res.Phone); p != "" {
			phone = p
		}
		s, err := l.receive(ctx, tx, incoming{transID: transID, source: huduma.SourceSTK, account: string(a.Invoice), invoice: a.Invoice,
			amount: res.Amount, msisdn: phone.Digits(), phone: phone, checkout: a.CheckoutRequestID, paidAt: res.PaidAt}, t)
		out = s.Outcome
		if out == huduma.OutcomePaid && otherPayer {
			out = huduma.OutcomeOtherPayer
		}
		return err
	})
	return out, err
}

// succeedPrompt marks a prompt succeeded and, given a recorded payment
// (id > 0), links the payment to it.
func (l *DB) succeedPrompt(ctx context.Context, tx *sql.Tx, a huduma.Attempt, paymentID int64, desc string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = 'succeeded', result_code = '0', result_desc = $2, updated_at = $3 WHERE id = $1`,
		a.ID, desc, ms(l.now())); err != nil {
		return fmt.Errorf("succeed attempt: %w", err)
	}
	if paymentID == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET checkout_request_id = $2 WHERE id = $1 AND checkout_request_id IS NULL`,
		paymentID, a.CheckoutRequestID); err != nil {
		return fmt.Errorf("link payment to prompt: %w", err)
	}
	return l.audit(ctx, tx, "invoice", string(a.Invoice), "prompt_matched_payment", map[string]any{"attempt": a.ID, "payment": paymentID})
}

// confirmedByPaybill finds the payment a prompt's receipt-less success
// (a status query's) already is: a paybill confirmation or a pulled
// transaction for the same invoice and amount, recorded since the prompt
// was made, linked to no prompt, from a number that can be the payer.
func (l *DB) confirmedByPaybill(ctx context.Context, tx *sql.Tx, a huduma.Attempt) (int64, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, msisdn FROM received_payments WHERE invoice_number = $1 AND amount = $2 AND checkout_request_id IS NULL
		AND trans_id NOT LIKE 'stk:%' AND received_at >= $3 ORDER BY id`, string(a.Invoice), a.Amount, ms(a.CreatedAt))
	if err != nil {
		return 0, false, fmt.Errorf("look for the prompt's payment: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var msisdn string
		if err := rows.Scan(&id, &msisdn); err != nil {
			return 0, false, fmt.Errorf("look for the prompt's payment: %w", err)
		}
		if samePhone(msisdn, a.Payer) {
			return id, true, nil
		}
	}
	return 0, false, rows.Err()
}

// samePhone reports whether a (possibly masked) number M-Pesa sent can be
// phone: its visible leading and trailing digits agree (either unknown:
// it can).
func samePhone(masked string, phone huduma.MSISDN) bool {
	m := strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(masked), "+"), " ", "")
	if m == "" || phone == "" {
		return true // nothing to tell them apart
	}
	d := phone.Digits()
	head, tail, cut := strings.Cut(m, "*")
	if !cut {
		return m == d
	}
	tail = strings.TrimLeft(tail, "*")
	return strings.HasPrefix(d, head) && strings.HasSuffix(d, tail)
}

// receiptForPrompt gives a prompt's provisional payment its receipt.
func (l *DB) receiptForPrompt(ctx context.Context, tx *sql.Tx, a huduma.Attempt, receipt string) error {
	if err := l.lock(ctx, tx, "payment:"+receipt); err != nil {
		return err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM received_payments WHERE trans_id = $1`, huduma.ProvisionalPrefix+a.CheckoutRequestID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // it has its receipt already (or another payment was its evidence)
	}
	if err != nil {
		return fmt.Errorf("look up provisional payment: %w", err)
	}
	var used int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM received_payments WHERE trans_id = $1`, receipt).Scan(&used); err != nil {
		return fmt.Errorf("check receipt: %w", err)
	}
	if used > 0 {
		return l.audit(ctx, tx, "invoice", string(a.Invoice), "callback_receipt_reused", map[string]any{"attempt": a.ID, "receipt": receipt})
	}
	return l.learnReceipt(ctx, tx, id, huduma.ProvisionalPrefix+a.CheckoutRequestID, receipt, a.Invoice)
}

// markPaid settles an invoice inside tx once what it received reached
// its total: paid, the completing payment's receipt, an audit row, the
// agency's application and one receipt SMS naming it (deduplicated by
// invoice number). It returns the paid invoice, with its application.
func (l *DB) markPaid(ctx context.Context, tx *sql.Tx, number huduma.InvoiceNumber, receipt string, paidAt time.Time, source string, t huduma.PaymentTexts) (huduma.Invoice, error) {
	if paidAt.IsZero() {
		paidAt = l.now()
	}
	if receipt != "" {
		// The invoice shows the receipt that completed it; one receipt can
		// complete two invoices (the rest of an overpayment applied to
		// another), and the column is unique, so the second shows none.
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invoices WHERE mpesa_receipt = $1`, receipt).Scan(&used); err != nil {
			return huduma.Invoice{}, fmt.Errorf("check receipt: %w", err)
		}
		if used > 0 {
			receipt = ""
		}
	}
	r, err := tx.ExecContext(ctx, `UPDATE invoices SET status = 'paid', reason = '', mpesa_receipt = NULLIF($2, ''), paid_at = $3
		WHERE number = $1 AND status <> 'paid'`, string(number), receipt, ms(paidAt))
	if err != nil {
		return huduma.Invoice{}, fmt.Errorf("mark invoice paid: %w", err)
	}
	inv, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE number = $1`, string(number)))
	if err != nil {
		return inv, fmt.Errorf("reload invoice: %w", err)
	}
	if n, err := r.RowsAffected(); err == nil && n > 0 {
		// M-Pesa's transaction time can be a moment before our own
		// creation time (clocks differ): never negative.
		took := max(paidAt.Sub(inv.CreatedAt), 0)
		l.onCommit(tx, func(o Observer) { o.InvoicePaid(took) })
	}
	if err := l.audit(ctx, tx, "invoice", string(number), "paid", map[string]any{"receipt": receipt, "source": source, "total": inv.Total}); err != nil {
		return inv, err
	}
	// A paid invoice opens the application the agency will process; the
	// receipt says its number, so the payer can track it.
	app, err := l.createApplication(ctx, tx, huduma.Application{ServiceCode: inv.ServiceCode, ServiceName: inv.ServiceName,
		Phone: inv.Phone, Invoice: string(inv.Number)})
	if err != nil {
		return inv, err
	}
	inv.Application = app
	if t != nil {
		if err := l.queueMessage(ctx, tx, t.Receipt(inv), "receipt:"+string(number)); err != nil {
			return inv, err
		}
	}
	return inv, nil
}

// ExpireDue marks unpaid invoices past their expiry as expired.
//
// Every instance runs this sweep, and a payment may be settling one of the
// invoices at the same moment: the candidates are locked in number order
// and rows another transaction holds are skipped (on Postgres; SQLite has
// one writer), so two sweeps never deadlock and a paying invoice is left
// for the next sweep, which finds it paid.
func (l *DB) ExpireDue(ctx context.Context) (int, error) {
	var n int
	err := l.tx(ctx, func(tx *sql.Tx) error {
		now := ms(l.now())
		rows, err := tx.QueryContext(ctx, `SELECT number FROM invoices WHERE status IN ('pending', 'failed', 'cancelled') AND expires_at <= $1
			ORDER BY number LIMIT 500`+l.d.SkipLocked, now)
		if err != nil {
			return fmt.Errorf("find expired invoices: %w", err)
		}
		var due []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			due = append(due, s)
		}
		rows.Close()
		for _, num := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE invoices SET status = 'expired' WHERE number = $1 AND status <> 'paid'`, num); err != nil {
				return fmt.Errorf("expire invoice: %w", err)
			}
			if err := l.audit(ctx, tx, "invoice", num, "expired", nil); err != nil {
				return err
			}
		}
		n = len(due)
		if n > 0 {
			l.onCommit(tx, func(o Observer) { o.InvoicesExpired(n) })
		}
		return nil
	})
	return n, err
}
