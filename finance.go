package huduma

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// PaymentRecord is a received payment with its refunds, as the finance
// officer's tools show one.
type PaymentRecord struct {
	ReceivedPayment
	Refunds []Refund `json:"refunds"`
}

// MarshalJSON writes the payment's fields (ReceivedPayment.MarshalJSON,
// which embedding would otherwise make the whole answer) and its refunds.
func (r PaymentRecord) MarshalJSON() ([]byte, error) {
	p, err := json.Marshal(r.ReceivedPayment)
	if err != nil {
		return nil, err
	}
	refunds := r.Refunds
	if refunds == nil {
		refunds = []Refund{}
	}
	f, err := json.Marshal(refunds)
	if err != nil {
		return nil, err
	}
	return append(append(append(p[:len(p)-1:len(p)-1], `,"refunds":`...), f...), '}'), nil
}

// SettlementRow is one agency's money for one day (EAT): what its paid
// invoices brought, and what went into and out of suspense. Agency "" is
// money that named no invoice.
type SettlementRow struct {
	Date   string `json:"date"`
	Agency string `json:"agency"`
	// InvoicesPaid invoices were paid in full that day, for Fees plus
	// ConvenienceFees = Total.
	InvoicesPaid    int   `json:"invoices_paid"`
	Fees            int64 `json:"fees"`
	ConvenienceFees int64 `json:"convenience_fees"`
	Total           int64 `json:"total"`
	// Applied is what payments brought the agency's invoices that day,
	// part payments of invoices not yet paid included.
	Applied int64 `json:"applied"`
	// SuspenseOpened payments put SuspenseOpenedAmount in suspense;
	// SuspenseClosed payments had SuspenseClosedAmount of what they held
	// applied to an invoice or refunded (Refunded of it refunded).
	SuspenseOpened       int   `json:"suspense_opened"`
	SuspenseOpenedAmount int64 `json:"suspense_opened_amount"`
	SuspenseClosed       int   `json:"suspense_closed"`
	SuspenseClosedAmount int64 `json:"suspense_closed_amount"`
	Refunded             int64 `json:"refunded"`
}

// settlementHeader is the CSV's first line.
var settlementHeader = []string{"date", "agency", "invoices_paid", "fees", "convenience_fees", "total", "applied",
	"suspense_opened", "suspense_opened_amount", "suspense_closed", "suspense_closed_amount", "refunded"}

// WriteSettlementCSV writes rows as CSV with a header line.
func WriteSettlementCSV(w io.Writer, rows []SettlementRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(settlementHeader); err != nil {
		return fmt.Errorf("write settlement csv: %w", err)
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rows {
		if err := cw.Write([]string{r.Date, r.Agency, strconv.Itoa(r.InvoicesPaid), n(r.Fees), n(r.ConvenienceFees), n(r.Total), n(r.Applied),
			strconv.Itoa(r.SuspenseOpened), n(r.SuspenseOpenedAmount), strconv.Itoa(r.SuspenseClosed), n(r.SuspenseClosedAmount), n(r.Refunded)}); err != nil {
			return fmt.Errorf("write settlement csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// EAT is East Africa Time, in which settlement days and statements run.
var EAT = time.FixedZone("EAT", 3*3600)

// ParseDay reads a YYYY-MM-DD day in EAT and returns its first instant.
func ParseDay(s string) (time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", s, EAT)
	if err != nil {
		return time.Time{}, Errorf(EInvalid, "a date is YYYY-MM-DD, got %q", s)
	}
	return d, nil
}

// LedgerTotals are the ledger's sums: In = Applied + Suspense + Refunded.
type LedgerTotals struct {
	Payments int   `json:"payments"`
	In       int64 `json:"in"`
	Applied  int64 `json:"applied"`
	Suspense int64 `json:"suspense"`
	Refunded int64 `json:"refunded"`
}
