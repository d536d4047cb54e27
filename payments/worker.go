package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
)

const (
	// darajaTimeout bounds one Daraja call, the client's own retries of an
	// outage included.
	darajaTimeout = 20 * time.Second
	// jobTimeout bounds one job: its Daraja call and the ledger writes
	// around it.
	jobTimeout = darajaTimeout + 10*time.Second
	// jobLease is how long a claimed job is ours: twice the longest a job
	// can take, so a live worker never loses its job to another one. A
	// worker that dies releases its jobs when the lease runs out.
	jobLease = 2 * jobTimeout
)

// Run works the job queue until ctx ends: prompts due after
// MPESA_STK_DELAY, status queries due after MPESA_QUERY_AFTER, and a
// periodic expiry sweep. Several processes may run it on one database.
//
// Jobs run concurrently on up to Config.Workers goroutines, each job on
// its own, so a slow or failing Daraja call holds up only its own job.
// Every round claims due prompts before due queries, and queries may take
// at most half the workers, so a pool full of slow queries still has room
// for the next prompt. Run returns once the jobs it started have finished
// (each within jobTimeout): a job that has talked to Daraja records what
// Daraja said even during shutdown.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	p := newPool(s.cfg.Workers)
	defer p.wait()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastExpiry := time.Time{}
	for {
		n, err := s.dispatch(ctx, p)
		if err != nil && ctx.Err() == nil {
			s.storeFailed("jobs", err)
			s.log.ErrorContext(ctx, "job queue", "error", err)
		}
		if time.Since(lastExpiry) > 30*time.Second {
			if n, err := s.jobs.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				s.storeFailed("invoice", err)
				s.log.ErrorContext(ctx, "expire invoices", "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "invoices expired", "count", n)
			}
			lastExpiry = time.Now()
		}
		if n > 0 && err == nil && ctx.Err() == nil {
			continue // more may be due, and workers may be free
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.freed:
		}
	}
}

// pool counts the jobs running now, so a round claims no more jobs than
// there are free workers (a claimed job never waits, so its lease only
// has to outlast the job itself) and queries never fill the pool.
type pool struct {
	size, maxQueries int
	// freed wakes the dispatcher when a job finishes.
	freed chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	running int
	queries int
}

func newPool(size int) *pool {
	size = max(size, 2)
	return &pool{size: size, maxQueries: size / 2, freed: make(chan struct{}, 1)}
}

// free returns how many jobs may start now, and how many of them queries.
func (p *pool) free() (jobs, queries int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	jobs = p.size - p.running
	return jobs, min(jobs, p.maxQueries-p.queries)
}

// start runs fn for job j on a new goroutine, counted until it returns.
func (p *pool) start(j huduma.Job, fn func()) {
	query := j.Kind == huduma.JobQuery
	p.mu.Lock()
	p.running++
	if query {
		p.queries++
	}
	p.mu.Unlock()
	p.wg.Go(func() {
		defer func() {
			p.mu.Lock()
			p.running--
			if query {
				p.queries--
			}
			p.mu.Unlock()
			select {
			case p.freed <- struct{}{}:
			default: // a wake-up is already pending
			}
		}()
		fn()
	})
}

func (p *pool) wait() { p.wg.Wait() }

// dispatch claims what the free workers can take, due prompts first, then
// due queries up to the queries' share, and starts each job. It returns
// how many jobs it started.
func (s *Service) dispatch(ctx context.Context, p *pool) (int, error) {
	free, queries := p.free()
	if free <= 0 {
		return 0, nil
	}
	jobs, err := s.jobs.Claim(ctx, free, jobLease, huduma.JobPush)
	if n := min(free-len(jobs), queries); err == nil && n > 0 {
		var more []huduma.Job
		more, err = s.jobs.Claim(ctx, n, jobLease, huduma.JobQuery)
		jobs = append(jobs, more...)
	}
	// A job runs to its end even when ctx ends (shutdown): once Daraja has
	// a prompt, recording that matters more than stopping at once.
	jctx := context.WithoutCancel(ctx)
	for _, j := range jobs {
		p.start(j, func() {
			ctx, cancel := context.WithTimeout(jctx, jobTimeout)
			defer cancel()
			s.runJob(ctx, j)
		})
	}
	return len(jobs), err
}

// runJob runs one claimed push or query job and records its outcome. When
// the record fails the job is claimed again after its lease, which the
// handlers tolerate (they check the attempt's state first).
func (s *Service) runJob(ctx context.Context, j huduma.Job) {
	var p huduma.PromptJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		s.log.ErrorContext(ctx, "bad job payload; dropping", "job", j.ID, "kind", j.Kind)
		if err := s.jobs.Done(ctx, j.ID); err != nil {
			s.log.ErrorContext(ctx, "job queue", "job", j.ID, "error", err)
		}
		return
	}
	var retryAt time.Time
	var why string
	if j.Kind == huduma.JobPush {
		retryAt, why = s.push(ctx, p, j.Attempts)
	} else { // dispatch claims only pushes and queries
		retryAt, why, p = s.query(ctx, p)
	}
	var err error
	if retryAt.IsZero() {
		err = s.jobs.Done(ctx, j.ID)
	} else {
		err = s.jobs.Retry(ctx, j.ID, retryAt, why, p)
	}
	if err != nil {
		s.storeFailed("jobs", err)
		s.log.ErrorContext(ctx, "job queue: could not record the job's outcome; it runs again after its lease", "job", j.ID, "kind", j.Kind, "error", err)
	}
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
func (s *Service) push(ctx context.Context, p huduma.PromptJob, tries int) (time.Time, string) {
	a, err := s.jobs.Attempt(ctx, p.AttemptID)
	if err != nil {
		return s.now().Add(backoff(time.Second, tries)), err.Error()
	}
	if a.Status != huduma.AttemptQueued {
		return time.Time{}, ""
	}
	inv, err := s.inv.Invoice(ctx, a.Invoice)
	if err != nil {
		return s.now().Add(backoff(time.Second, tries)), err.Error()
	}
	if inv.Status == huduma.InvoicePaid || inv.Status == huduma.InvoiceExpired {
		s.jobs.MarkPushRejected(ctx, a.ID, "invoice "+string(inv.Status))
		return time.Time{}, ""
	}
	cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
	defer cancel()
	res, err := s.mp.StkPush(cctx, huduma.STKPush{Phone: a.Payer, Amount: a.Amount, Reference: string(a.Invoice), Description: "eCitizen"})
	s.obs.STKPush(pushOutcome(err))
	if err != nil {
		if retryable(err) && tries < 5 {
			s.log.WarnContext(ctx, "stk push failed; will retry", "invoice", a.Invoice, "error", err)
			return s.now().Add(backoff(2*time.Second, tries)), err.Error()
		}
		s.log.ErrorContext(ctx, "stk push refused", "invoice", a.Invoice, "error", err)
		if err := s.jobs.MarkPushRejected(ctx, a.ID, err.Error()); err != nil {
			return s.now().Add(time.Second), err.Error()
		}
		return time.Time{}, ""
	}
	if err := s.jobs.MarkPushSent(ctx, a.ID, res, s.now().Add(s.cfg.QueryAfter)); err != nil {
		// Daraja has the prompt; if this write failed the job runs again
		// and the attempt is still queued, so the customer could get a
		// second prompt. Daraja itself refuses a duplicate within two
		// minutes (ResultCode 17), which bounds the damage.
		return s.now().Add(time.Second), err.Error()
	}
	s.log.InfoContext(ctx, "stk push sent", "invoice", a.Invoice, "checkout", res.CheckoutRequestID)
	return time.Time{}, ""
}

// nextQuery is when to ask Daraja again about a prompt sent at sentAt that
// is still undecided after tries queries, or zero to stop asking. The gaps
// grow from QueryBackoff (20 s, 40 s, 80 s, … by default) and the last
// query falls when the prompt's life ends (huduma.PromptLife), by when
// M-Pesa has long given up on it, so its final answer is still read.
func (s *Service) nextQuery(now, sentAt time.Time, tries int) time.Time {
	end := sentAt.Add(huduma.PromptLife)
	if tries >= s.cfg.MaxQueries || !now.Before(end) {
		return time.Time{}
	}
	next := now.Add(backoff(s.cfg.QueryBackoff, tries-1))
	if next.After(end) {
		return end
	}
	return next
}

// query asks Daraja for the result of a prompt that got no callback, and
// settles it exactly as a callback would. An undecided prompt is asked
// about again on the nextQuery schedule; one still undecided at the end
// is left as it is: the attempt stays sent and the invoice pending, still
// payable by paybill or by a new prompt (the ledger allows one once the
// old prompt is past huduma.PromptLife), and a late callback still
// settles it.
func (s *Service) query(ctx context.Context, p huduma.PromptJob) (time.Time, string, huduma.PromptJob) {
	a, err := s.jobs.Attempt(ctx, p.AttemptID)
	if err != nil {
		return s.now().Add(backoff(time.Second, p.Tries)), err.Error(), p
	}
	if a.Status != huduma.AttemptSent {
		return time.Time{}, "", p // settled by a callback meanwhile
	}
	cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
	defer cancel()
	res, err := s.mp.StkQuery(cctx, a.CheckoutRequestID)
	p.Tries++
	// While an attempt is sent its updated_at is when Daraja took it.
	next := s.nextQuery(s.now(), a.UpdatedAt, p.Tries)
	switch {
	case err != nil && next.IsZero():
		s.log.WarnContext(ctx, "stk query failed; giving up, the invoice stays pending", "invoice", a.Invoice, "tries", p.Tries, "error", err)
		return time.Time{}, "", p
	case err != nil:
		s.log.WarnContext(ctx, "stk query failed; will retry", "invoice", a.Invoice, "tries", p.Tries, "next", next, "error", err)
		return next, err.Error(), p
	case res.Pending && next.IsZero():
		s.log.InfoContext(ctx, "stk prompt never answered; no more queries, the invoice stays pending", "invoice", a.Invoice, "tries", p.Tries)
		return time.Time{}, "", p
	case res.Pending:
		// An answer, not a failure: the customer has not finished yet.
		s.log.DebugContext(ctx, "stk prompt not answered yet", "invoice", a.Invoice, "tries", p.Tries, "next", next)
		return next, "not answered yet", p
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
