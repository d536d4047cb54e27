package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// The invoice hop on Postgres: a new invoice loads nothing (its key is
// found by the insert doing nothing), so its whole plan is inserts, and
// they go as one statement of data-modifying CTEs, which Postgres runs
// atomically without BEGIN and COMMIT: one round trip instead of seven.
// Every insert after the invoice's reads from it, so a key seen before
// writes nothing at all, as the rolled-back transaction did.

// oneStatement reports whether the plan p, decided on an empty state, is
// an invoice with only new rows beside it, which insertInvoicePlan writes.
func oneStatement(p huduma.Plan) bool {
	return p.NewInvoice != nil && p.KeyInvoice == nil && p.Prompt == nil && p.KeyRefund == nil && len(p.StalePrompts) == 0 &&
		p.Attempt == nil && p.Invoice == nil && p.Bill == nil && p.NewPayment == nil && p.Payment == nil && len(p.Moves) == 0 &&
		p.Application == nil && p.NewRefund == nil && p.Refund == nil && p.Callback == nil
}

// stmt builds one statement and its arguments.
type stmt struct {
	q    strings.Builder
	args []any
}

// arg adds v and returns its placeholder, cast to typ so that an
// INSERT ... SELECT knows the column's type.
func (s *stmt) arg(v any, typ string) string {
	s.args = append(s.args, v)
	return fmt.Sprintf("$%d::%s", len(s.args), typ)
}

// cte adds one WITH item.
func (s *stmt) cte(name, body string) {
	if s.q.Len() == 0 {
		s.q.WriteString("WITH ")
	} else {
		s.q.WriteString(",\n")
	}
	s.q.WriteString(name + " AS (" + body + ")")
}

// insertInvoicePlan writes a plan oneStatement accepts in one statement,
// outside any transaction, and fills in the ids the plan returns with.
func (l *DB) insertInvoicePlan(ctx context.Context, p huduma.Plan) error {
	now := ms(l.now())
	values, err := invoiceValues(*p.NewInvoice)
	if err != nil {
		return err
	}
	var s stmt
	s.args = values
	marks := make([]string, len(values))
	for i := range values {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	s.cte("inv", `INSERT INTO invoices `+invoiceInsertCols+` VALUES (`+strings.Join(marks, ", ")+
		`) ON CONFLICT (idempotency_key) DO NOTHING RETURNING number`)
	results := []string{"(SELECT count(*) FROM inv)"}
	if np := p.NewPrompt; np != nil {
		a := np.Attempt
		flag := 0
		if np.Stranger {
			flag = 1
		}
		s.cte("att", `INSERT INTO payment_attempts (invoice_number, payer, amount, status, dedupe_key, stranger, created_at, updated_at)
			SELECT number, `+strings.Join([]string{s.arg(string(a.Payer), "text"), s.arg(a.Amount, "bigint"), s.arg(string(a.Status), "text"),
			s.arg(nullable(np.Key), "text"), s.arg(flag, "integer"), s.arg(ms(a.CreatedAt), "bigint"), s.arg(ms(a.UpdatedAt), "bigint")}, ", ")+
			` FROM inv RETURNING id`)
		// The push job's payload is huduma.PromptJob with only its
		// attempt's id, which exists only inside the statement.
		s.cte("push", `INSERT INTO jobs (kind, payload, run_at) SELECT `+s.arg(string(huduma.JobPush), "text")+
			`, json_build_object('attempt_id', id)::text, `+s.arg(ms(np.RunAt), "bigint")+` FROM att`)
		results = append(results, "COALESCE((SELECT id FROM att), 0)")
	}
	for i, m := range p.Messages {
		parts := m.Message.Parts
		if parts <= 0 {
			parts = gsm7.SMSParts(m.Message.Body)
		}
		name := fmt.Sprintf("msg%d", i)
		s.cte(name, `INSERT INTO outbox (recipient, body, kind, priority, next_attempt_at, dedupe_key, parts, created_at, updated_at) SELECT `+
			strings.Join([]string{s.arg(string(m.Message.To), "text"), s.arg(m.Message.Body, "text"), s.arg(string(m.Message.Kind), "text"),
				s.arg(m.Message.Kind.Priority(), "integer"), s.arg(now, "bigint"), s.arg(nullable(m.Dedupe), "text"), s.arg(parts, "integer")}, ", ")+
			`, `+s.arg(now, "bigint")+`, `+s.arg(now, "bigint")+` FROM inv ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1`)
		results = append(results, "(SELECT count(*) FROM "+name+")")
	}
	for i, j := range p.Jobs {
		b, err := json.Marshal(j.Payload)
		if err != nil {
			return fmt.Errorf("encode job: %w", err)
		}
		name := fmt.Sprintf("job%d", i)
		s.cte(name, `INSERT INTO jobs (kind, payload, run_at, dedupe_key) SELECT `+strings.Join([]string{s.arg(string(j.Kind), "text"),
			s.arg(string(b), "text"), s.arg(ms(j.RunAt), "bigint"), s.arg(nullable(j.Dedupe), "text")}, ", ")+
			` FROM inv ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`)
		results = append(results, "COALESCE((SELECT id FROM "+name+"), 0)")
	}
	for i, r := range p.Audit {
		detail, trans, err := auditValues(r)
		if err != nil {
			return err
		}
		s.cte(fmt.Sprintf("audit%d", i), `INSERT INTO audit_log (entity, entity_id, action, detail, trans_id, at) SELECT `+
			strings.Join([]string{s.arg(r.Entity, "text"), s.arg(r.ID, "text"), s.arg(r.Action, "text"), s.arg(detail, "text"),
				s.arg(trans, "text"), s.arg(now, "bigint")}, ", ")+` FROM inv`)
	}
	s.q.WriteString("\nSELECT " + strings.Join(results, ", "))

	out := make([]int64, len(results))
	dest := make([]any, len(out))
	for i := range out {
		dest[i] = &out[i]
	}
	if err := l.db.QueryRowContext(ctx, s.q.String(), s.args...).Scan(dest...); err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23505" && pg.ConstraintName == "invoices_pkey" {
			return huduma.Errorf(huduma.EConflict, "invoice number already used")
		}
		return fmt.Errorf("insert invoice: %w", err)
	}
	if out[0] == 0 {
		return errInvoiceKeySeen
	}
	l.commits.Add(1)
	k := 1
	if p.NewPrompt != nil {
		p.NewPrompt.Attempt.ID = out[k]
		k++
	}
	o := l.observer()
	for _, m := range p.Messages {
		if out[k] > 0 {
			o.MessageQueued(m.Message.Kind)
		}
		k++
	}
	for i := range p.Jobs {
		p.Jobs[i].ID = out[k]
		k++
	}
	return nil
}

// nullable is s, or NULL for an empty s: a unique key column holds NULL
// for "no key".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
