package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/huduma-ke/huduma"
)

// The money path's one entry: Settle loads and locks what a money event
// names (huduma.LedgerKey), hands that state to the rules (decide, which
// is huduma.Settle), and writes the plan they return in the same
// transaction. Nothing here decides: there is no status, amount or text
// in this file that the plan did not carry.

// errApplicationClash asks Settle to try again: the application number
// the loader drew was taken meanwhile.
var errApplicationClash = errors.New("application number taken")

// errInvoiceKeySeen asks Settle to try again, loading the invoice a new
// invoice's idempotency key made: it was found by the insert doing
// nothing, so the common case (a new key) costs no lookup first.
var errInvoiceKeySeen = errors.New("invoice key seen")

// Settle loads the state key names (locked until the transaction ends),
// asks decide for the plan, and writes it. A refusal from decide is
// returned and nothing is written. The plan returned has its new payment
// and refund's ids filled in.
func (l *DB) Settle(ctx context.Context, key huduma.LedgerKey, decide func(huduma.LedgerState) (huduma.Plan, error)) (huduma.Plan, error) {
	var plan huduma.Plan
	if key == (huduma.LedgerKey{}) && l.d.Name == Postgres.Name {
		// Nothing to load or lock: a plan of new rows only is one
		// statement; any other plan is decided again in a transaction.
		st := huduma.LedgerState{Now: l.now(), NewApplication: string(huduma.NewInvoiceNumber())}
		p, err := decide(st)
		if err != nil {
			return huduma.Plan{}, err
		}
		if oneStatement(p) {
			err := l.insertInvoicePlan(ctx, p)
			if !errors.Is(err, errInvoiceKeySeen) {
				return p, err
			}
			key.InvoiceKey = p.NewInvoice.Key
		}
	}
	for try := 0; ; try++ {
		err := l.tx(ctx, func(tx *sql.Tx) error {
			st, err := l.loadLedger(ctx, tx, key)
			if err != nil {
				return err
			}
			if plan, err = decide(st); err != nil {
				return err
			}
			return l.writePlan(ctx, tx, key, plan)
		})
		switch {
		case errors.Is(err, errApplicationClash) && try < 5:
			continue
		case errors.Is(err, errInvoiceKeySeen) && key.InvoiceKey == "":
			key.InvoiceKey = plan.NewInvoice.Key
			continue
		case errors.Is(err, errInvoiceKeySeen):
			// Only a key whose invoice was deleted since could get here.
			return huduma.Plan{}, huduma.Errorf(huduma.EConflict, "idempotency key already used")
		}
		return plan, err
	}
}

// ledgerPaymentCols are paymentCols with the prompt a payment settled.
const ledgerPaymentCols = paymentCols + `, COALESCE(r.checkout_request_id, '')`

func scanLedgerPayment(r interface{ Scan(...any) error }) (huduma.ReceivedPayment, error) {
	var checkout string
	p, err := scanPayment(scanFunc(func(dest ...any) error { return r.Scan(append(dest, &checkout)...) }))
	p.Checkout = checkout
	return p, err
}

// loadLedger loads key's state in lock order: the prompt, the refund, the
// payment (a named lock), the invoice.
func (l *DB) loadLedger(ctx context.Context, tx *sql.Tx, key huduma.LedgerKey) (huduma.LedgerState, error) {
	st := huduma.LedgerState{Now: l.now()}
	number := key.Invoice
	if key.AttemptID != 0 {
		a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE id = $1`+l.d.ForUpdate, key.AttemptID))
		switch {
		case err == nil:
			st.Attempt = &a
			if number == "" {
				number = a.Invoice
			}
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("load prompt: %w", err)
		}
	}
	if key.Checkout != "" {
		a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE checkout_request_id = $1`+l.d.ForUpdate, key.Checkout))
		switch {
		case err == nil:
			st.Attempt = &a
			if number == "" {
				number = a.Invoice
			}
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("load prompt: %w", err)
		}
	}
	trans := key.TransID
	if r := key.Reversal; r != nil {
		for _, q := range []struct{ where, v string }{{"f.originator_conversation_id = $1", r.OriginatorConversationID}, {"f.conversation_id = $1", r.ConversationID}} {
			if q.v == "" {
				continue
			}
			f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE `+q.where+l.d.ForUpdate, q.v))
			if err == nil {
				st.Refund = &f
				break
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return st, fmt.Errorf("load refund: %w", err)
			}
		}
		switch {
		case st.Refund != nil:
			trans = st.Refund.TransID
		case r.OriginalTransID != "":
			trans = r.OriginalTransID
			refunds, err := l.refundsIn(ctx, tx, `r.trans_id = $1 ORDER BY f.id`+l.d.ForUpdate, trans)
			if err != nil {
				return st, err
			}
			st.Refunds = refunds
		}
	}
	if key.RefundID != 0 {
		f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.id = $1`+l.d.ForUpdate, key.RefundID))
		switch {
		case err == nil:
			st.Refund = &f
			trans = f.TransID
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("load refund: %w", err)
		}
	}
	if key.RefundKey != "" {
		f, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE f.dedupe_key = $1`, key.RefundKey))
		switch {
		case err == nil:
			st.Refund = &f
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("look up refund key: %w", err)
		}
	}
	if trans != "" {
		if err := l.lock(ctx, tx, "payment:"+trans); err != nil {
			return st, err
		}
		p, err := scanLedgerPayment(tx.QueryRowContext(ctx, `SELECT `+ledgerPaymentCols+paymentFrom+` WHERE r.trans_id = $1`, trans))
		switch {
		case err == nil:
			st.Payment = &p
			if key.PaymentInvoice && number == "" {
				number = p.Invoice
			}
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("load payment: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE mpesa_receipt = $1)`, trans).Scan(&st.ReceiptTaken); err != nil {
			return st, fmt.Errorf("check receipt: %w", err)
		}
	}
	if number == "" && key.Bill != "" {
		err := tx.QueryRowContext(ctx, `SELECT number FROM invoices WHERE bill_number = $1`, key.Bill).Scan(&number)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return st, fmt.Errorf("look up bill: %w", err)
		}
	}
	if number != "" {
		inv, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE number = $1`+l.d.ForUpdate, string(number)))
		switch {
		case err == nil:
			st.Invoice = &inv
			if st.InvoicePayments, err = l.paymentsIn(ctx, tx, `r.invoice_number = $1 ORDER BY r.id`, string(number)); err != nil {
				return st, err
			}
			err := tx.QueryRowContext(ctx, `SELECT number FROM applications WHERE invoice_number = $1`, string(number)).Scan(&st.Application)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return st, fmt.Errorf("look up application: %w", err)
			}
			if key.InFlight {
				if st.InFlight, err = l.attemptsIn(ctx, tx, `invoice_number = $1 AND status IN ('queued', 'sent') ORDER BY id`, string(number)); err != nil {
					return st, err
				}
			}
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("load invoice: %w", err)
		}
	}
	if key.PromptKey != "" {
		a, err := scanAttempt(tx.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE dedupe_key = $1`, key.PromptKey))
		switch {
		case err == nil:
			st.KeyPrompt = &a
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("look up prompt key: %w", err)
		}
	}
	if key.InvoiceKey != "" {
		var hash string
		row := tx.QueryRowContext(ctx, `SELECT `+invoiceCols+`, request_hash FROM invoices WHERE idempotency_key = $1`, key.InvoiceKey)
		inv, err := scanInvoice(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &hash)...) }))
		switch {
		case err == nil:
			st.KeyInvoice, st.KeyInvoiceHash = &inv, hash
		case !errors.Is(err, sql.ErrNoRows):
			return st, fmt.Errorf("look up invoice key: %w", err)
		}
	}
	if key.PromptsTo != "" {
		// The phone's lock makes the count and the insert that follows one
		// step, so concurrent requests from anywhere cannot all pass. It
		// is taken after the invoice's, and no transaction takes two
		// phones', so two prompts never wait on each other in a circle.
		if err := l.lock(ctx, tx, "prompts:"+string(key.PromptsTo)); err != nil {
			return st, err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_attempts WHERE payer = $1 AND stranger = 1 AND created_at > $2`,
			string(key.PromptsTo), ms(st.Now.Add(-huduma.PromptCapWindow))).Scan(&st.StrangerPrompts); err != nil {
			return st, fmt.Errorf("count prompts from others: %w", err)
		}
	}
	st.NewApplication = string(huduma.NewInvoiceNumber())
	return st, nil
}

func (l *DB) attemptsIn(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]huduma.Attempt, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load prompts: %w", err)
	}
	defer rows.Close()
	var out []huduma.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, fmt.Errorf("load prompts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (l *DB) paymentsIn(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]huduma.ReceivedPayment, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+ledgerPaymentCols+paymentFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load payments: %w", err)
	}
	defer rows.Close()
	var out []huduma.ReceivedPayment
	for rows.Next() {
		p, err := scanLedgerPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("load payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (l *DB) refundsIn(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]huduma.Refund, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+refundCols+refundFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load refunds: %w", err)
	}
	defer rows.Close()
	var out []huduma.Refund
	for rows.Next() {
		f, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("load refunds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// writePlan writes every change of p in tx.
func (l *DB) writePlan(ctx context.Context, tx *sql.Tx, key huduma.LedgerKey, p huduma.Plan) error {
	now := ms(l.now())
	if n := p.NewInvoice; n != nil {
		if err := l.insertInvoice(ctx, tx, *n); err != nil {
			return err
		}
	}
	for _, id := range p.StalePrompts {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = $2, updated_at = $3 WHERE id = $1`, id, string(huduma.AttemptStale), now); err != nil {
			return fmt.Errorf("retire stale prompt: %w", err)
		}
	}
	if n := p.NewPrompt; n != nil {
		a := &n.Attempt
		var dedupe any
		if n.Key != "" {
			dedupe = n.Key
		}
		flag := 0
		if n.Stranger {
			flag = 1
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO payment_attempts (invoice_number, payer, amount, status, dedupe_key, stranger, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, string(a.Invoice), string(a.Payer), a.Amount, string(a.Status), dedupe, flag,
			ms(a.CreatedAt), ms(a.UpdatedAt)).Scan(&a.ID); err != nil {
			return fmt.Errorf("insert prompt: %w", err)
		}
		if err := l.enqueue(ctx, tx, huduma.JobPush, huduma.PromptJob{AttemptID: a.ID}, n.RunAt); err != nil {
			return err
		}
	}
	if c := p.Attempt; c != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = $2, result_code = $3, result_desc = $4, updated_at = $5,
			checkout_request_id = COALESCE(NULLIF($6, ''), checkout_request_id), merchant_request_id = CASE WHEN $6 = '' THEN merchant_request_id ELSE $7 END
			WHERE id = $1`, c.ID, string(c.Status), c.ResultCode, c.ResultDesc, now, c.CheckoutRequestID, c.MerchantRequestID); err != nil {
			return fmt.Errorf("update prompt: %w", err)
		}
	}
	if n := p.NewPayment; n != nil {
		var invoice, checkout, since any
		if n.Invoice != "" {
			invoice = string(n.Invoice)
		}
		if n.Checkout != "" {
			checkout = n.Checkout
		}
		if n.SuspenseSince != nil {
			since = ms(*n.SuspenseSince)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO received_payments (trans_id, source, account, invoice_number, amount, applied, suspense, refunded,
			state, reason, msisdn, phone, checkout_request_id, paid_at, received_at, suspense_since, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $15) RETURNING id`,
			n.TransID, string(n.Source), n.Account, invoice, n.Amount, n.Applied, n.Suspense, n.Refunded, string(n.State), string(n.Reason),
			n.Payer, string(n.Phone), checkout, ms(n.PaidAt), ms(n.ReceivedAt), since).Scan(&n.ID); err != nil {
			return fmt.Errorf("record payment: %w", err)
		}
	}
	if c := p.Payment; c != nil {
		var checkout, since any
		if c.Checkout != "" {
			checkout = c.Checkout
		}
		if c.SuspenseSince != nil {
			since = ms(*c.SuspenseSince)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET trans_id = $2, applied = $3, suspense = $4, refunded = $5, state = $6, reason = $7,
			note = $8, suspense_since = $9, checkout_request_id = $10, updated_at = $11 WHERE id = $1`,
			c.ID, c.TransID, c.Applied, c.Suspense, c.Refunded, string(c.State), string(c.Reason), c.Note, since, checkout, now); err != nil {
			return fmt.Errorf("update payment: %w", err)
		}
	}
	if c := p.Invoice; c != nil {
		var paid any
		if c.PaidAt != nil {
			paid = ms(*c.PaidAt)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET amount_received = $2, status = $3, reason = $4, mpesa_receipt = NULLIF($5, ''), paid_at = $6
			WHERE number = $1`, string(c.Number), c.Received, string(c.Status), c.Reason, c.Receipt, paid); err != nil {
			return fmt.Errorf("update invoice: %w", err)
		}
	}
	if b := p.Bill; b != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET bill_number = $2 WHERE number = $1`, string(b.Invoice), b.Bill); err != nil {
			if isUnique(err) {
				return huduma.Errorf(huduma.EConflict, "bill %s is another invoice's", b.Bill)
			}
			return fmt.Errorf("store bill number: %w", err)
		}
	}
	if err := l.writeMoves(ctx, tx, p, now); err != nil {
		return err
	}
	if a := p.Application; a != nil {
		r, err := tx.ExecContext(ctx, `INSERT INTO applications (number, service_code, service_name, phone, reference, invoice_number, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (number) DO NOTHING`,
			a.Number, a.ServiceCode, a.ServiceName, string(a.Phone), a.Reference, a.Invoice, string(a.Status), now)
		if err != nil {
			return fmt.Errorf("open application: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errApplicationClash
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_history (number, status, at) VALUES ($1, $2, $3)`, a.Number, string(a.Status), now); err != nil {
			return fmt.Errorf("application history: %w", err)
		}
	}
	if f := p.NewRefund; f != nil {
		var dedupe any
		if key.RefundKey != "" {
			dedupe = key.RefundKey
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO refunds (payment_id, amount, status, dedupe_key, requested_by, remarks, created_at, updated_at)
			SELECT id, $2, $3, $4, $5, $6, $7, $7 FROM received_payments WHERE trans_id = $1 RETURNING id`,
			f.TransID, f.Amount, string(f.Status), dedupe, f.RequestedBy, f.Remarks, now).Scan(&f.ID); err != nil {
			return fmt.Errorf("record refund: %w", err)
		}
		if err := l.enqueue(ctx, tx, huduma.JobReversal, huduma.RefundJob{RefundID: f.ID}, l.now()); err != nil {
			return err
		}
	}
	if c := p.Refund; c != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = $2, result_code = $3, result_desc = $4, updated_at = $5,
			conversation_id = COALESCE(NULLIF($6, ''), conversation_id), originator_conversation_id = COALESCE(NULLIF($7, ''), originator_conversation_id)
			WHERE id = $1`, c.ID, string(c.Status), c.ResultCode, c.ResultDesc, now, c.ConversationID, c.OriginatorConversationID); err != nil {
			return fmt.Errorf("update refund: %w", err)
		}
	}
	for _, m := range p.Messages {
		if err := l.queueMessage(ctx, tx, m.Message, m.Dedupe); err != nil {
			return err
		}
	}
	for i, j := range p.Jobs {
		// The plan's slice is the caller's: the ids go back with it.
		id, err := l.enqueueOnce(ctx, tx, j.Kind, j.Payload, j.RunAt, j.Dedupe)
		if err != nil {
			return err
		}
		p.Jobs[i].ID = id
	}
	if c := p.Callback; c != nil {
		if err := l.recordCallback(ctx, tx, c.Kind, c.Reference, string(p.Outcome), c.Body); err != nil {
			return err
		}
	}
	return l.writeAudit(ctx, tx, p.Audit, now)
}

// insertInvoice writes a new invoice. A number already taken is EConflict
// (the caller draws another); a key already used, errInvoiceKeySeen.
func (l *DB) insertInvoice(ctx context.Context, tx *sql.Tx, n huduma.InvoiceOrder) error {
	values, err := invoiceValues(n)
	if err != nil {
		return err
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO invoices `+invoiceInsertCols+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (idempotency_key) DO NOTHING`, values...)
	if err != nil {
		if isUnique(err) {
			return huduma.Errorf(huduma.EConflict, "invoice number already used")
		}
		return fmt.Errorf("insert invoice: %w", err)
	}
	if rows, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("insert invoice: %w", err)
	} else if rows == 0 {
		return errInvoiceKeySeen
	}
	return nil
}

// invoiceInsertCols are the columns a new invoice writes, in
// invoiceValues's order.
const invoiceInsertCols = `(number, service_code, service_name, phone, fields, fee, convenience_fee, total,
	status, language, idempotency_key, request_hash, created_at, expires_at)`

// invoiceValues are a new invoice's values for invoiceInsertCols.
func invoiceValues(n huduma.InvoiceOrder) ([]any, error) {
	inv := n.Invoice
	fields, err := json.Marshal(inv.Fields)
	if err != nil {
		return nil, fmt.Errorf("encode invoice fields: %w", err)
	}
	var key any
	if n.Key != "" {
		key = n.Key
	}
	return []any{string(inv.Number), inv.ServiceCode, inv.ServiceName, string(inv.Phone), string(fields), inv.Fee, inv.ConvenienceFee, inv.Total,
		string(inv.Status), string(inv.Language), key, n.RequestHash, ms(inv.CreatedAt), ms(inv.ExpiresAt)}, nil
}

// writeMoves writes the journal rows in one statement.
func (l *DB) writeMoves(ctx context.Context, tx *sql.Tx, p huduma.Plan, now int64) error {
	if len(p.Moves) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO payment_moves (payment_id, from_bucket, to_bucket, amount, invoice_number, reason, actor, at) VALUES `)
	args := make([]any, 0, 8*len(p.Moves))
	for i, m := range p.Moves {
		id := m.PaymentID
		if id == 0 && p.NewPayment != nil {
			id = p.NewPayment.ID
		}
		var inv any
		if m.Invoice != "" {
			inv = string(m.Invoice)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
		args = append(args, id, m.From, m.To, m.Amount, inv, string(m.Reason), m.Actor, now)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("journal payment moves: %w", err)
	}
	return nil
}

// auditValues are an audit row's detail, as JSON, and the payment it
// concerns (nil: none).
func auditValues(r huduma.AuditRow) (string, any, error) {
	var detail []byte
	if r.Detail != nil {
		var err error
		if detail, err = json.Marshal(r.Detail); err != nil {
			return "", nil, fmt.Errorf("encode audit detail: %w", err)
		}
	}
	var trans any
	if r.TransID != "" {
		trans = r.TransID
	}
	return string(detail), trans, nil
}

// writeAudit writes the plan's audit rows in one statement, each with
// the payment it concerns.
func (l *DB) writeAudit(ctx context.Context, tx *sql.Tx, rows []huduma.AuditRow, now int64) error {
	if len(rows) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_log (entity, entity_id, action, detail, trans_id, at) VALUES `)
	args := make([]any, 0, 6*len(rows))
	for i, r := range rows {
		detail, trans, err := auditValues(r)
		if err != nil {
			return err
		}
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, r.Entity, r.ID, r.Action, detail, trans, now)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("write audit rows: %w", err)
	}
	return nil
}
