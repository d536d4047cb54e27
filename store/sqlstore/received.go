package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// The suspense ledger (README "Money that matches nothing"): every M-Pesa
// transaction is recorded once in received_payments, by its transaction
// id, and split by the accumulate rule into applied, suspense and
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

// incoming is a payment as a settlement path hands it to receive.
type incoming struct {
	transID string
	source  huduma.PaymentSource
	account string
	// invoice is the invoice number the account parses as ("" if none).
	invoice huduma.InvoiceNumber
	amount  int64
	msisdn  string
	phone   huduma.MSISDN
	// checkout links a prompt's payment to its prompt.
	checkout string
	paidAt   time.Time
}

// maskedMSISDN is what is kept of the number M-Pesa sent: masked already
// on C2B ("2547 ***** 126"); a full number is masked here, since the
// full one is kept apart (phone) for texts only.
func maskedMSISDN(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.Contains(raw, "*") {
		return raw
	}
	return huduma.MaskPhone(raw)
}

// fullPhone returns the payer's number when raw is a whole one.
func fullPhone(raw string) huduma.MSISDN {
	if strings.Contains(raw, "*") {
		return ""
	}
	p, err := huduma.ParseMSISDN(raw)
	if err != nil {
		return ""
	}
	return p
}

// PaymentByTrans returns a received payment by its M-Pesa transaction id.
func (l *DB) PaymentByTrans(ctx context.Context, transID string) (huduma.ReceivedPayment, error) {
	p, err := scanPayment(l.db.QueryRowContext(ctx, `SELECT `+paymentCols+paymentFrom+` WHERE r.trans_id = $1`, huduma.NormalizeTransID(transID)))
	if err != nil {
		return p, notFound("payment", err)
	}
	return p, nil
}

func (l *DB) paymentInTx(ctx context.Context, tx *sql.Tx, where string, arg any) (huduma.ReceivedPayment, error) {
	return scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentCols+paymentFrom+` WHERE `+where, arg))
}

// invoiceForUpdate loads and locks an invoice in tx (nil when none).
func (l *DB) invoiceForUpdate(ctx context.Context, tx *sql.Tx, number huduma.InvoiceNumber) (*huduma.Invoice, error) {
	if number == "" {
		return nil, nil
	}
	inv, err := scanInvoice(tx.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE number = $1`+l.d.ForUpdate, string(number)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load invoice: %w", err)
	}
	return &inv, nil
}

// move writes one journal row: amount went from one bucket to another.
func (l *DB) move(ctx context.Context, tx *sql.Tx, paymentID int64, from, to string, amount int64, invoice huduma.InvoiceNumber, reason huduma.SuspenseReason, actor string) error {
	var inv any
	if invoice != "" {
		inv = string(invoice)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_moves (payment_id, from_bucket, to_bucket, amount, invoice_number, reason, actor, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, paymentID, from, to, amount, inv, string(reason), actor, ms(l.now())); err != nil {
		return fmt.Errorf("journal payment move: %w", err)
	}
	return nil
}

// notify queues the text about a payment event, once per dedupe key.
func (l *DB) notify(ctx context.Context, tx *sql.Tx, t huduma.PaymentTexts, n huduma.PaymentNotice, dedupe string) error {
	if t == nil {
		return nil
	}
	m, ok := t.Notice(n)
	if !ok || m.To == "" {
		return nil
	}
	return l.queueMessage(ctx, tx, m, dedupe)
}

// SettleC2B records a paybill payment (from its confirmation, the pull
// worker or a statement) once by TransID, and applies it by the
// accumulate rule to the invoice its account names: the invoice is paid
// when what it received reaches its total; money beyond the balance, and
// money for no payable invoice, is held in suspense. The payer is texted
// what happened. A TransID seen before changes nothing
// (huduma.OutcomeDuplicate).
func (l *DB) SettleC2B(ctx context.Context, p huduma.C2BPayment, t huduma.PaymentTexts) (huduma.Settlement, error) {
	in := incoming{transID: huduma.NormalizeTransID(p.TransID), source: p.Source, account: p.Account, invoice: p.Invoice, amount: p.Amount,
		msisdn: p.MSISDN, phone: p.Phone, paidAt: p.PaidAt}
	if in.source == "" {
		in.source = huduma.SourceC2B
	}
	if in.account == "" {
		in.account = string(p.Invoice)
	}
	if in.phone == "" {
		in.phone = fullPhone(p.MSISDN)
	}
	if in.transID == "" || len(in.transID) > 64 || strings.HasPrefix(in.transID, huduma.ProvisionalPrefix) {
		return huduma.Settlement{}, huduma.Errorf(huduma.EInvalid, "a payment needs its M-Pesa transaction id")
	}
	var s huduma.Settlement
	err := l.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = l.receive(ctx, tx, in, t)
		return err
	})
	return s, err
}

// receive records one payment in tx and allocates it (see SettleC2B);
// the observer hears of its outcome once tx commits.
func (l *DB) receive(ctx context.Context, tx *sql.Tx, in incoming, t huduma.PaymentTexts) (huduma.Settlement, error) {
	s, err := l.allocate(ctx, tx, in, t)
	if err == nil && s.Outcome != "" {
		out := s.Outcome
		l.onCommit(tx, func(o Observer) { o.PaymentReceived(out) })
	}
	return s, err
}

// allocate is receive without the observer.
func (l *DB) allocate(ctx context.Context, tx *sql.Tx, in incoming, t huduma.PaymentTexts) (huduma.Settlement, error) {
	// Every entry refuses such amounts first; this is the ledger's own
	// guard, which also keeps every sum of amounts far from overflowing.
	if err := huduma.CheckPayment(in.amount); err != nil {
		return huduma.Settlement{}, err
	}
	if err := l.lock(ctx, tx, "payment:"+in.transID); err != nil {
		return huduma.Settlement{}, err
	}
	if seen, err := l.paymentInTx(ctx, tx, `r.trans_id = $1`, in.transID); err == nil {
		return huduma.Settlement{Outcome: huduma.OutcomeDuplicate, Invoice: seen.Invoice}, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return huduma.Settlement{}, fmt.Errorf("look up payment: %w", err)
	}
	inv, err := l.invoiceForUpdate(ctx, tx, in.invoice)
	if err != nil {
		return huduma.Settlement{}, err
	}
	if inv != nil && in.checkout == "" {
		// A prompt's payment a status query confirmed has no receipt yet;
		// this may be its receipt arriving.
		if adopted, err := l.adoptProvisional(ctx, tx, *inv, in); err != nil || adopted {
			return huduma.Settlement{Outcome: huduma.OutcomeDuplicate, Invoice: inv.Number}, err
		}
	}
	now := l.now()
	p := huduma.ReceivedPayment{TransID: in.transID, Source: in.source, Account: in.account, Amount: in.amount, Payer: maskedMSISDN(in.msisdn),
		Phone: in.phone, PaidAt: in.paidAt, ReceivedAt: now}
	if p.PaidAt.IsZero() {
		p.PaidAt = now
	}
	// The accumulate rule.
	switch {
	case inv == nil:
		p.Reason = huduma.ReasonUnknownAccount
	case inv.Status == huduma.InvoicePaid || inv.Due() == 0:
		p.Reason = huduma.ReasonInvoicePaid
	case inv.Status == huduma.InvoiceExpired:
		p.Reason = huduma.ReasonInvoiceExpired
	default:
		p.Applied = min(in.amount, inv.Due())
		if p.Applied < in.amount {
			p.Reason = huduma.ReasonOverpaid
		}
	}
	if inv != nil {
		p.Invoice = inv.Number
	}
	p.Suspense = p.Amount - p.Applied
	p.State = huduma.PaymentApplied
	var since any
	if p.Suspense > 0 {
		p.State, since = huduma.PaymentSuspense, ms(now)
	}
	var invCol, checkout any
	if inv != nil {
		invCol = string(inv.Number)
	}
	if in.checkout != "" {
		checkout = in.checkout
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO received_payments (trans_id, source, account, invoice_number, amount, applied, suspense, state, reason,
		msisdn, phone, checkout_request_id, paid_at, received_at, suspense_since, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14) RETURNING id`,
		p.TransID, string(p.Source), clip(p.Account, 40), invCol, p.Amount, p.Applied, p.Suspense, string(p.State), string(p.Reason),
		clip(p.Payer, 40), string(p.Phone), checkout, ms(p.PaidAt), ms(now), since).Scan(&p.ID); err != nil {
		return huduma.Settlement{}, fmt.Errorf("record payment: %w", err)
	}
	s := huduma.Settlement{Invoice: p.Invoice, Applied: p.Applied, Suspense: p.Suspense, Reason: p.Reason}
	if err := l.audit(ctx, tx, "payment", p.TransID, "received", map[string]any{"amount": p.Amount, "applied": p.Applied, "suspense": p.Suspense,
		"reason": p.Reason, "source": p.Source, "invoice": p.Invoice, "payer": p.Payer}); err != nil {
		return s, err
	}
	if p.Suspense > 0 {
		if err := l.move(ctx, tx, p.ID, "received", "suspense", p.Suspense, "", p.Reason, ""); err != nil {
			return s, err
		}
		l.onCommit(tx, func(o Observer) { o.Suspense(SuspenseOpened) })
	}
	if p.Applied == 0 {
		s.Outcome = huduma.OutcomeSuspense
		return s, l.notify(ctx, tx, t, huduma.PaymentNotice{Kind: huduma.NoticeHeld, Payment: p, Invoice: inv, Amount: p.Suspense, Reason: p.Reason},
			"payment:"+p.TransID+":held")
	}
	after, paid, err := l.credit(ctx, tx, *inv, p, p.Applied, "received", "", t)
	if err != nil {
		return s, err
	}
	switch {
	case paid && p.Suspense > 0:
		s.Outcome = huduma.OutcomeOverpaid
		return s, l.notify(ctx, tx, t, huduma.PaymentNotice{Kind: huduma.NoticeOverpaid, Payment: p, Invoice: &after, Amount: p.Suspense, Reason: p.Reason},
			"payment:"+p.TransID+":overpaid")
	case paid:
		s.Outcome = huduma.OutcomePaid
		return s, nil
	}
	s.Outcome = huduma.OutcomePartial
	return s, l.notify(ctx, tx, t, huduma.PaymentNotice{Kind: huduma.NoticePartial, Payment: p, Invoice: &after, Amount: p.Applied},
		"payment:"+p.TransID+":partial")
}

// credit applies amount of payment p to inv (locked by the caller, and
// payable) in tx: the invoice's received sum grows, the journal records
// the move from `from` (received or suspense), and the invoice is marked
// paid, with its receipt, once the sum reaches its total.
func (l *DB) credit(ctx context.Context, tx *sql.Tx, inv huduma.Invoice, p huduma.ReceivedPayment, amount int64, from, actor string, t huduma.PaymentTexts) (huduma.Invoice, bool, error) {
	r, err := tx.ExecContext(ctx, `UPDATE invoices SET amount_received = amount_received + $2 WHERE number = $1 AND status NOT IN ('paid', 'expired')
		AND amount_received + $2 <= total`, string(inv.Number), amount)
	if err != nil {
		return inv, false, fmt.Errorf("credit invoice: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return inv, false, fmt.Errorf("credit invoice %s: not payable or more than its balance", inv.Number)
	}
	if err := l.move(ctx, tx, p.ID, from, "applied", amount, inv.Number, "", actor); err != nil {
		return inv, false, err
	}
	inv.Received += amount
	if err := l.audit(ctx, tx, "invoice", string(inv.Number), "payment_applied", map[string]any{"trans": p.TransID, "amount": amount,
		"received": inv.Received, "total": inv.Total}); err != nil {
		return inv, false, err
	}
	if inv.Received < inv.Total {
		return inv, false, nil
	}
	receipt := p.TransID
	if p.Provisional() {
		receipt = ""
	}
	paid, err := l.markPaid(ctx, tx, inv.Number, receipt, p.PaidAt, string(p.Source), t)
	return paid, true, err
}

// adoptProvisional gives a provisional payment (a prompt's, confirmed by
// a status query without its receipt) the transaction id in, when in can
// be that payment: same invoice, same amount, a number that can be the
// prompted one. It reports whether it did.
func (l *DB) adoptProvisional(ctx context.Context, tx *sql.Tx, inv huduma.Invoice, in incoming) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, trans_id, phone FROM received_payments WHERE invoice_number = $1 AND amount = $2 AND trans_id LIKE 'stk:%'
		ORDER BY id`, string(inv.Number), in.amount)
	if err != nil {
		return false, fmt.Errorf("look for a provisional payment: %w", err)
	}
	var id int64
	var old string
	for rows.Next() {
		var phone string
		if err := rows.Scan(&id, &old, &phone); err != nil {
			rows.Close()
			return false, fmt.Errorf("look for a provisional payment: %w", err)
		}
		if samePhone(in.msisdn, huduma.MSISDN(phone)) {
			break
		}
		id = 0
	}
	err = rows.Err()
	rows.Close()
	if err != nil || id == 0 {
		return false, err
	}
	return true, l.learnReceipt(ctx, tx, id, old, in.transID, inv.Number)
}

// learnReceipt renames provisional payment id (old) to its M-Pesa
// receipt, on the invoice too when the invoice has none.
func (l *DB) learnReceipt(ctx context.Context, tx *sql.Tx, id int64, old, receipt string, invoice huduma.InvoiceNumber) error {
	if _, err := tx.ExecContext(ctx, `UPDATE received_payments SET trans_id = $2, updated_at = $3 WHERE id = $1`, id, receipt, ms(l.now())); err != nil {
		return fmt.Errorf("record receipt: %w", err)
	}
	var used int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invoices WHERE mpesa_receipt = $1`, receipt).Scan(&used); err != nil {
		return fmt.Errorf("check receipt: %w", err)
	}
	if used == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET mpesa_receipt = $2 WHERE number = $1 AND status = 'paid' AND mpesa_receipt IS NULL`,
			string(invoice), receipt); err != nil {
			return fmt.Errorf("record receipt on invoice: %w", err)
		}
	}
	return l.audit(ctx, tx, "payment", receipt, "receipt_learned", map[string]any{"was": old, "invoice": invoice})
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
