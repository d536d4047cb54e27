package payments

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// Reconciling against the organisation portal's statement (the paybill's
// CSV export): the statement is M-Pesa's own record of the paybill, so what it
// shows paid in and our ledger lacks is money we never heard of, and what
// the ledger has and it lacks is something to look into.

// StatementRow is one line of the portal's statement export.
type StatementRow struct {
	// Line is the row's line number in the file (for the officer).
	Line       int       `json:"line"`
	Receipt    string    `json:"receipt"`
	Completed  time.Time `json:"completed"`
	Details    string    `json:"details,omitempty"`
	Status     string    `json:"status"`
	PaidIn     int64     `json:"paid_in"`
	Withdrawn  int64     `json:"withdrawn"`
	ReasonType string    `json:"reason_type,omitempty"`
	// OtherParty is the payer ("2547… - NAME"), masked when read.
	OtherParty string `json:"other_party,omitempty"`
	Linked     string `json:"linked,omitempty"`
	// Account is what the payer typed, any phone number in it masked;
	// account is as typed, for settling.
	Account         string `json:"account"`
	account, msisdn string
}

// PaymentIn reports whether the row is money paid into the paybill.
func (r StatementRow) PaymentIn() bool {
	return r.PaidIn > 0 && (r.Status == "" || strings.EqualFold(r.Status, "Completed"))
}

// statementColumns are the portal's column names we read.
var statementColumns = []string{"Receipt No.", "Completion Time", "Details", "Transaction Status", "Paid In", "Withdrawn",
	"Reason Type", "Other Party Info", "Linked Transaction ID", "A/C No."}

// statementTimes are the layouts the portal writes times in (local, EAT).
var statementTimes = []string{"2006-01-02 15:04:05", "02-01-2006 15:04:05", "02/01/2006 15:04:05", "2006-01-02T15:04:05",
	"2006-01-02 15:04", "02-01-2006 15:04", "02/01/2006 15:04"}

// ParseStatement reads the portal's CSV export: any lines before the
// header (the export's title and period), then a header naming at least
// Receipt No., Completion Time, Paid In and A/C No., then the rows.
// Amounts may carry thousands separators; a fraction of a shilling is an
// error, never rounded. Paid In is never negative and at most one M-Pesa
// payment (huduma.MaxPayment); Withdrawn may be written negative, as the
// portal does. Receipts are M-Pesa ids (letters and digits, kept upper
// case); every text is cleaned of control characters (huduma.CleanLine),
// so nothing in the file reaches the ledger or a terminal raw. A bad row
// is an error naming its line.
func ParseStatement(r io.Reader) ([]StatementRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	col := map[string]int{}
	var out []StatementRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("statement: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(col) == 0 {
			for i, h := range rec {
				col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
			}
			if _, ok := col["receipt no."]; !ok {
				col = map[string]int{} // a title line: the header is further down
				continue
			}
			for _, need := range []string{"receipt no.", "completion time", "paid in", "a/c no."} {
				if _, ok := col[need]; !ok {
					return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: the header lacks %q", line, need)
				}
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[strings.ToLower(name)]; ok && i < len(rec) {
				return huduma.CleanLine(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		row := StatementRow{Line: line, Details: get("Details"), Status: get("Transaction Status"),
			ReasonType: get("Reason Type"), Linked: huduma.NormalizeTransID(get("Linked Transaction ID")), account: get("A/C No.")}
		row.Account = huduma.Redact(row.account)
		receipt := get("Receipt No.")
		if receipt == "" {
			continue // a blank or totals line
		}
		if row.Receipt, err = huduma.ParseTransID(receipt); err != nil {
			return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Receipt No.: %s", line, huduma.ErrorMessage(err))
		}
		paidIn := get("Paid In")
		if strings.HasPrefix(paidIn, "-") {
			return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Paid In %q is negative: money paid out is in Withdrawn", line, paidIn)
		}
		if row.PaidIn, err = statementAmount(paidIn); err != nil {
			return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Paid In: %s", line, err)
		}
		if row.PaidIn > 0 {
			if err := huduma.CheckPayment(row.PaidIn); err != nil {
				return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Paid In: %s", line, huduma.ErrorMessage(err))
			}
		}
		if row.Withdrawn, err = statementAmount(strings.TrimPrefix(get("Withdrawn"), "-")); err != nil {
			return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Withdrawn: %s", line, err)
		}
		when := get("Completion Time")
		for _, layout := range statementTimes {
			if t, err := time.ParseInLocation(layout, when, huduma.EAT); err == nil {
				row.Completed = t.UTC()
				break
			}
		}
		if row.Completed.IsZero() {
			return nil, huduma.Errorf(huduma.EInvalid, "statement line %d: Completion Time %q is not a time", line, when)
		}
		party := get("Other Party Info")
		row.msisdn, _, _ = strings.Cut(party, " ")
		row.OtherParty = huduma.Redact(party)
		out = append(out, row)
	}
	if len(col) == 0 {
		return nil, huduma.Errorf(huduma.EInvalid, "statement: no header line with %s", strings.Join(statementColumns, ", "))
	}
	return out, nil
}

// statementAmount reads "4,600.00" or "" as whole shillings (a sign is
// an error: the caller decides what a minus means).
func statementAmount(s string) (int64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if s == "" {
		return 0, nil
	}
	return huduma.WholeShillings(s)
}

// AmountDiff is a payment the statement and the ledger disagree on.
type AmountDiff struct {
	Receipt   string `json:"receipt"`
	Statement int64  `json:"statement"`
	Ledger    int64  `json:"ledger"`
}

// ReconcileReport compares a statement with the ledger over its period.
type ReconcileReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rows is the statement's rows; PaymentsIn the money paid in.
	Rows       int `json:"rows"`
	PaymentsIn int `json:"payments_in"`
	// Missing are payments in the statement but not in the ledger; with
	// apply, Applied says what settling each did.
	Missing []StatementRow      `json:"missing"`
	Applied []huduma.Settlement `json:"applied,omitempty"`
	// Extra are payments in the ledger, completed in the period, that the
	// statement lacks (a provisional one counts as found when the
	// statement has a payment for its invoice and amount).
	Extra       []huduma.ReceivedPayment `json:"extra"`
	AmountDiffs []AmountDiff             `json:"amount_differences"`
	// Reversals counts the statement's reversals: money paid back out,
	// whose Linked Transaction ID names the payment reversed.
	Reversals int `json:"reversals"`
	// UnknownReversals are reversals of payments the ledger has not
	// refunded (or does not know): M-Pesa paid the money back, by a refund
	// made at the portal or one whose result never reached us, so what the
	// ledger still counts as applied or held is gone. RefundDiffs are
	// payments whose reversals add up to another amount than the ledger
	// refunded (Statement: the reversals, Ledger: the refunded amount).
	UnknownReversals []StatementRow `json:"unknown_reversals"`
	RefundDiffs      []AmountDiff   `json:"refund_differences"`
}

// Reversal reports whether the row pays a payment back: money out, linked
// to the payment, and named a reversal by its details or reason (a
// transfer to the bank is money out too, but reverses nothing).
func (r StatementRow) Reversal() bool {
	named := strings.Contains(strings.ToLower(r.Details), "revers") || strings.Contains(strings.ToLower(r.ReasonType), "revers")
	return r.Withdrawn > 0 && r.Linked != "" && named && (r.Status == "" || strings.EqualFold(r.Status, "Completed"))
}

// reversals checks the statement's reversals against the ledger's
// refunds, payment by payment.
func (s *Service) reversals(ctx context.Context, rows []StatementRow, rep *ReconcileReport) error {
	byPayment := map[string][]StatementRow{}
	var order []string
	for _, r := range rows {
		if !r.Reversal() {
			continue
		}
		rep.Reversals++
		if byPayment[r.Linked] == nil {
			order = append(order, r.Linked)
		}
		byPayment[r.Linked] = append(byPayment[r.Linked], r)
	}
	for _, trans := range order {
		revs := byPayment[trans]
		var out int64
		for _, r := range revs {
			// Saturates instead of wrapping: reversals adding up past what
			// an int64 holds are reported as the most it holds, never as a
			// small or negative sum that could pass for the refund.
			out = addSat(out, r.Withdrawn)
		}
		p, err := s.ledger.PaymentByTrans(ctx, trans)
		switch {
		case huduma.ErrorCode(err) == huduma.ENotFound || (err == nil && p.Refunded == 0):
			rep.UnknownReversals = append(rep.UnknownReversals, revs...)
		case err != nil:
			return fmt.Errorf("reversal of %s (statement line %d): %w", trans, revs[0].Line, err)
		case p.Refunded != out:
			rep.RefundDiffs = append(rep.RefundDiffs, AmountDiff{Receipt: trans, Statement: out, Ledger: p.Refunded})
		}
	}
	return nil
}

// addSat is a+b for amounts that are not negative, at most math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Reconcile compares the statement rows with the ledger over the
// statement's period (from..to, or the rows' own first and last times
// when zero), and with apply settles each missing payment exactly as its
// confirmation would have.
func (s *Service) Reconcile(ctx context.Context, rows []StatementRow, from, to time.Time, apply bool) (ReconcileReport, error) {
	rep := ReconcileReport{From: from, To: to, Rows: len(rows), Missing: []StatementRow{}, Extra: []huduma.ReceivedPayment{}, AmountDiffs: []AmountDiff{},
		UnknownReversals: []StatementRow{}, RefundDiffs: []AmountDiff{}}
	if err := s.reversals(ctx, rows, &rep); err != nil {
		return rep, err
	}
	var in []StatementRow
	for _, r := range rows {
		if !r.PaymentIn() {
			continue
		}
		in = append(in, r)
		if from.IsZero() && (rep.From.IsZero() || r.Completed.Before(rep.From)) {
			rep.From = r.Completed
		}
		if to.IsZero() && r.Completed.After(rep.To) {
			rep.To = r.Completed
		}
	}
	rep.PaymentsIn = len(in)
	if len(in) == 0 {
		return rep, nil
	}
	// Ledger payments a little outside the period are read too: a
	// payment's time in the ledger can differ from its completion time.
	ledger, err := s.ledger.PaymentsBetween(ctx, rep.From.Add(-time.Hour), rep.To.Add(time.Hour))
	if err != nil {
		return rep, err
	}
	byID := map[string]huduma.ReceivedPayment{}
	for _, p := range ledger {
		byID[p.TransID] = p
	}
	seen := map[string]bool{}
	for _, r := range in {
		seen[r.Receipt] = true
		p, ok := byID[r.Receipt]
		if !ok {
			// Outside the widened window, or not there at all.
			if q, err := s.ledger.PaymentByTrans(ctx, r.Receipt); err == nil {
				p, ok = q, true
			} else if huduma.ErrorCode(err) != huduma.ENotFound {
				return rep, err
			}
		}
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, r)
		case p.Amount != r.PaidIn:
			rep.AmountDiffs = append(rep.AmountDiffs, AmountDiff{Receipt: r.Receipt, Statement: r.PaidIn, Ledger: p.Amount})
		}
	}
	provisionalFound := map[string]bool{}
	for _, r := range rep.Missing {
		provisionalFound[strings.TrimSpace(r.account)+"/"+strconv.FormatInt(r.PaidIn, 10)] = true
	}
	for _, p := range ledger {
		if p.PaidAt.Before(rep.From) || p.PaidAt.After(rep.To) || seen[p.TransID] {
			continue
		}
		if p.Provisional() && provisionalFound[string(p.Invoice)+"/"+strconv.FormatInt(p.Amount, 10)] {
			continue
		}
		rep.Extra = append(rep.Extra, p)
	}
	sort.Slice(rep.Extra, func(i, j int) bool { return rep.Extra[i].PaidAt.Before(rep.Extra[j].PaidAt) })
	if !apply {
		return rep, nil
	}
	for _, r := range rep.Missing {
		got, err := s.receive(ctx, huduma.PaybillPayment{TransID: r.Receipt, Account: r.account, Amount: r.PaidIn, MSISDN: r.msisdn, At: r.Completed},
			huduma.SourceStatement, nil)
		if err != nil {
			return rep, fmt.Errorf("apply statement line %d: %w", r.Line, err)
		}
		rep.Applied = append(rep.Applied, got)
	}
	return rep, nil
}

// SettlementReport is the day's money per agency (huduma.SettlementRow).
func (s *Service) SettlementReport(ctx context.Context, day time.Time, agency string) ([]huduma.SettlementRow, error) {
	return s.ledger.SettlementReport(ctx, day, agency)
}
