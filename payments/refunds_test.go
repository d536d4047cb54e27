package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// scriptedReverser answers reversals with the errors it is given, in
// order (nil: accepted), counting the requests that reached it.
type scriptedReverser struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (r *scriptedReverser) Reverse(_ context.Context, req huduma.ReversalRequest) (huduma.ReversalAccepted, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	var err error
	if len(r.errs) > 0 {
		err, r.errs = r.errs[0], r.errs[1:]
	}
	if err != nil {
		return huduma.ReversalAccepted{}, err
	}
	return huduma.ReversalAccepted{ConversationID: fmt.Sprintf("AG_%s_%d", req.TransID, r.calls)}, nil
}

// runDue claims and runs the due reversal jobs once.
func runDue(t *testing.T, s *Service, st ledgertest.Ledger) int {
	t.Helper()
	jobs, err := st.Claim(context.Background(), 10, time.Minute, huduma.JobReversal)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		s.runRefund(context.Background(), j)
	}
	return len(jobs)
}

// TestRefundWorker: a refund is sent once; a request that never left is
// sent again later; one that may have reached Daraja never is; a refusal
// holds the money again. Refunds are refused when not configured.
func TestRefundWorker(t *testing.T) {
	ctx := context.Background()
	outage := fmt.Errorf("timeout: %w", providers.ErrOutage)
	notSent := fmt.Errorf("token: %w: %w", providers.ErrOutage, providers.ErrNotSent)
	for _, tc := range []struct {
		name   string
		errs   []error
		calls  int
		status huduma.RefundStatus
		state  huduma.PaymentState
	}{
		{"accepted", nil, 1, huduma.RefundSent, huduma.PaymentRefunding},
		{"not sent, then accepted", []error{notSent}, 2, huduma.RefundSent, huduma.PaymentRefunding},
		{"never left, every time", []error{notSent, notSent, notSent, notSent, notSent, notSent}, refundTries, huduma.RefundFailed, huduma.PaymentSuspense},
		{"may have reached Daraja", []error{outage}, 1, huduma.RefundSending, huduma.PaymentRefunding},
		{"refused", []error{errors.New("daraja: HTTP 400 400.002.02: Bad Request - Invalid Initiator")}, 1, huduma.RefundFailed, huduma.PaymentSuspense},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ledgertest.New(sqlitetest.Open(t))
			s := New(st, nil, nil, Config{}, slog.New(slog.DiscardHandler))
			if _, err := s.RequestRefund(ctx, "X1", "", "officer", ""); huduma.ErrorCode(err) != huduma.EUnavailable {
				t.Fatalf("refund without an initiator: %v", err)
			}
			rev := &scriptedReverser{errs: tc.errs}
			s.EnableRefunds(rev)
			if _, err := st.SettleC2B(ctx, huduma.C2BPayment{TransID: "X1", Account: "nothing", Amount: 500}, s.texts()); err != nil {
				t.Fatal(err)
			}
			f, err := s.RequestRefund(ctx, "X1", "", "officer", "")
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < refundTries+2; round++ {
				runDue(t, s, st)
				// Retried jobs wait: make them due now.
				st.SQL().ExecContext(ctx, `UPDATE jobs SET run_at = 0 WHERE done_at IS NULL`)
			}
			got, _ := st.Refund(ctx, f.ID)
			p, _ := st.PaymentByTrans(ctx, "X1")
			if rev.calls != tc.calls || got.Status != tc.status || p.State != tc.state {
				t.Fatalf("%d requests, refund %s, payment %s; want %d, %s, %s", rev.calls, got.Status, p.State, tc.calls, tc.status, tc.state)
			}
			if n, _ := st.PendingJobs(ctx, huduma.JobReversal); n != 0 {
				t.Fatalf("%d reversal jobs left", n)
			}
		})
	}
}
