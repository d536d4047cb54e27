package payments

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Suspense is what the finance officer's tools need from the ledger.
type Suspense interface {
	Suspense(ctx context.Context, f huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error)
	PaymentByTrans(ctx context.Context, transID string) (huduma.ReceivedPayment, error)
	Refunds(ctx context.Context, transID string) ([]huduma.Refund, error)
	PaymentsBetween(ctx context.Context, from, to time.Time) ([]huduma.ReceivedPayment, error)
	SettlementReport(ctx context.Context, day time.Time, agency string) ([]huduma.SettlementRow, error)
}

// EnableRefunds lets RequestRefund and RunRefunds reverse payments
// through r (off until called: without an initiator there are no refunds).
func (s *Service) EnableRefunds(r providers.Reverser) { s.reverser = r }

// ListSuspense lists held payments, longest held first.
func (s *Service) ListSuspense(ctx context.Context, f huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error) {
	if f.OlderThan < 0 || f.Limit < 0 || f.Limit > 1000 {
		return nil, huduma.Errorf(huduma.EInvalid, "older_than must not be negative, limit at most 1000")
	}
	return s.ledger.Suspense(ctx, f)
}

// Payment returns a payment by its M-Pesa transaction id, with its refunds.
func (s *Service) Payment(ctx context.Context, transID string) (huduma.PaymentRecord, error) {
	p, err := s.ledger.PaymentByTrans(ctx, strings.TrimSpace(transID))
	if err != nil {
		return huduma.PaymentRecord{}, err
	}
	refunds, err := s.ledger.Refunds(ctx, p.TransID)
	if err != nil {
		return huduma.PaymentRecord{}, err
	}
	if refunds == nil {
		refunds = []huduma.Refund{}
	}
	return huduma.PaymentRecord{ReceivedPayment: p, Refunds: refunds}, nil
}

// ApplySuspense applies money payment transID holds to an invoice, by the
// accumulate rule (as much as the invoice still needs; the rest stays
// held), texting the payer; actor names the officer.
func (s *Service) ApplySuspense(ctx context.Context, transID string, number huduma.InvoiceNumber, actor string) (huduma.Settlement, error) {
	plan, err := s.apply(ctx, huduma.ApplyEvent{TransID: strings.TrimSpace(transID), Invoice: number, Actor: actor}, nil)
	st := plan.Settlement
	if err != nil {
		return st, fmt.Errorf("apply payment: %w", err)
	}
	s.log.InfoContext(ctx, "held payment applied", "trans", transID, "invoice", number, "applied", st.Applied, "left", st.Suspense, "actor", actor)
	return st, nil
}
