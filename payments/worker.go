package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/store/ledger"
)

// jobLease is how long a claimed job is ours; a worker that dies releases
// its jobs when the lease runs out.
const jobLease = time.Minute

// Run works the job queue until ctx ends: prompts due after
// MPESA_STK_DELAY, status queries due after MPESA_QUERY_AFTER, and a
// periodic expiry sweep. Several processes may run it on one Postgres.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastExpiry := time.Time{}
	for {
		if n, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "job queue", "error", err)
		} else if n > 0 {
			continue // more may be due
		}
		if time.Since(lastExpiry) > 30*time.Second {
			if n, err := s.l.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "expire invoices", "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "invoices expired", "count", n)
			}
			lastExpiry = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce claims and runs the jobs due now, returning how many ran.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	jobs, err := s.l.Claim(ctx, 10, jobLease)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		var p ledger.PushJob
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			s.log.ErrorContext(ctx, "bad job payload; dropping", "job", j.ID, "kind", j.Kind)
			s.l.Done(ctx, j.ID)
			continue
		}
		var retryAt time.Time
		var why string
		switch j.Kind {
		case ledger.JobPush:
			retryAt, why = s.push(ctx, p, j.Attempts)
		case ledger.JobQuery:
			retryAt, why, p = s.query(ctx, p)
		default:
			s.log.ErrorContext(ctx, "unknown job kind; dropping", "job", j.ID, "kind", j.Kind)
		}
		if retryAt.IsZero() {
			err = s.l.Done(ctx, j.ID)
		} else {
			err = s.l.Retry(ctx, j.ID, retryAt, why, p)
		}
		if err != nil {
			return len(jobs), err
		}
	}
	return len(jobs), nil
}

// backoff grows 2^n from base, capped at ten minutes.
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// push sends a queued prompt. It returns a retry time when the attempt
// should be tried again. A paid invoice is never pushed.
func (s *Service) push(ctx context.Context, p ledger.PushJob, tries int) (time.Time, string) {
	a, err := s.l.Attempt(ctx, p.AttemptID)
	if err != nil {
		return s.now().Add(backoff(time.Second, tries)), err.Error()
	}
	if a.Status != huduma.AttemptQueued {
		return time.Time{}, ""
	}
	inv, err := s.l.Invoice(ctx, a.Invoice)
	if err != nil {
		return s.now().Add(backoff(time.Second, tries)), err.Error()
	}
	if inv.Status == huduma.InvoicePaid || inv.Status == huduma.InvoiceExpired {
		s.l.MarkPushRejected(ctx, a.ID, "invoice "+string(inv.Status))
		return time.Time{}, ""
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := s.mp.StkPush(cctx, huduma.STKPush{Phone: a.Payer, Amount: a.Amount, Reference: string(a.Invoice), Description: "eCitizen"})
	if err != nil {
		if s.cfg.Retryable(err) && tries < 5 {
			s.log.WarnContext(ctx, "stk push failed; will retry", "invoice", a.Invoice, "error", err)
			return s.now().Add(backoff(2*time.Second, tries)), err.Error()
		}
		s.log.ErrorContext(ctx, "stk push refused", "invoice", a.Invoice, "error", err)
		if err := s.l.MarkPushRejected(ctx, a.ID, err.Error()); err != nil {
			return s.now().Add(time.Second), err.Error()
		}
		return time.Time{}, ""
	}
	if err := s.l.MarkPushSent(ctx, a.ID, res, s.now().Add(s.cfg.QueryAfter)); err != nil {
		// Daraja has the prompt; if this write failed the job runs again
		// and the attempt is still queued, so the customer could get a
		// second prompt. Daraja itself refuses a duplicate within two
		// minutes (ResultCode 17), which bounds the damage.
		return s.now().Add(time.Second), err.Error()
	}
	s.log.InfoContext(ctx, "stk push sent", "invoice", a.Invoice, "checkout", res.CheckoutRequestID)
	return time.Time{}, ""
}

// query asks Daraja for the result of a prompt that got no callback, and
// settles it exactly as a callback would.
func (s *Service) query(ctx context.Context, p ledger.PushJob) (time.Time, string, ledger.PushJob) {
	a, err := s.l.Attempt(ctx, p.AttemptID)
	if err != nil {
		return s.now().Add(backoff(time.Second, p.Tries)), err.Error(), p
	}
	if a.Status != huduma.AttemptSent {
		return time.Time{}, "", p // settled by a callback meanwhile
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := s.mp.StkQuery(cctx, a.CheckoutRequestID)
	p.Tries++
	if err == nil && res.Pending {
		err = errors.New("still being processed")
	}
	if err != nil {
		if p.Tries >= s.cfg.MaxQueries {
			s.log.WarnContext(ctx, "stk query gave no final answer; giving up", "invoice", a.Invoice, "tries", p.Tries)
			return time.Time{}, "", p
		}
		return s.now().Add(backoff(s.cfg.QueryAfter/2, p.Tries)), err.Error(), p
	}
	// The query carries no amount or receipt: the amount is the one we
	// asked for in this very prompt.
	res.Amount = a.Amount
	out, err := s.settleSTK(ctx, res, []byte(fmt.Sprintf(`{"query":%q,"ResultCode":%q}`, a.CheckoutRequestID, res.ResultCode)))
	if err != nil {
		return s.now().Add(time.Second), err.Error(), p
	}
	s.log.InfoContext(ctx, "stk query settled the prompt", "invoice", a.Invoice, "outcome", out)
	return time.Time{}, "", p
}
