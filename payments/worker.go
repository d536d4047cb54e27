package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
)

const (
	// darajaTimeout bounds one Daraja call, the client's own retries of an
	// outage included.
	darajaTimeout = 20 * time.Second
	// jobTimeout bounds one job: its Daraja call and the ledger writes
	// around it.
	jobTimeout = darajaTimeout + 10*time.Second
	// jobLease is how long a claimed refund job is ours: twice the longest
	// a job can take. A worker that dies releases its refunds when the
	// lease runs out (a refund is claimed in the ledger before it is sent,
	// so that never sends one twice).
	jobLease = 2 * jobTimeout
	// promptLease is how long a claimed prompt or query job is ours
	// without a renewal. The worker renews the leases of the jobs it runs
	// every quarter lease, so a live worker keeps a job for as long as it
	// takes (up to jobTimeout), and a dead one's jobs are claimed again
	// within promptLease: a prompt is late by seconds after a crash, not
	// by a minute.
	promptLease = 10 * time.Second
	// pushTries bounds the pushes of one prompt that reach Daraja and fail
	// for an outage (a busy subscriber, a timeout, a 5xx); calls the
	// circuit breaker holds back are not tries.
	pushTries = 5
	// recordTries bounds the tries to record a push Daraja accepted, when
	// the store refuses it.
	recordTries = 5
)

// Run works the job queue until ctx ends: prompts due after
// MPESA_STK_DELAY, status queries due after MPESA_QUERY_AFTER, and a
// periodic expiry sweep. Several processes may run it on one database.
//
// Jobs run concurrently on up to Config.Workers goroutines, each job on
// its own, so a slow or failing Daraja call holds up only its own job.
// Every round claims due prompts before due queries, and queries may take
// at most half the workers, so a pool full of slow queries still has room
// for the next prompt. A claimed job's lease is short and renewed while
// it runs (promptLease). Run returns once the jobs it started have
// finished (each within jobTimeout): a job that has talked to Daraja
// records what Daraja said even during shutdown.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	p := newPool(s.cfg.Workers)
	stopRenewing := make(chan struct{})
	renewing := make(chan struct{})
	go func() { defer close(renewing); s.keepLeases(p, stopRenewing) }()
	// The leases are renewed until the last job has finished.
	defer func() { p.wait(); close(stopRenewing); <-renewing }()
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
			if n, err := s.expireDue(ctx); err != nil && ctx.Err() == nil {
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

// keepLeases renews the leases of the jobs p runs, every quarter lease,
// until stop is closed. A renewal that fails is tried again at the next
// tick; only when several fail in a row (the database unreachable for
// most of a lease) can another worker take a running job.
func (s *Service) keepLeases(p *pool, stop <-chan struct{}) {
	t := time.NewTicker(s.lease / 4)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ids := p.held()
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.lease/4)
		_, err := s.jobs.RenewJobs(ctx, ids, s.lease)
		cancel()
		if err != nil {
			s.storeFailed("jobs", err)
			s.log.Error("job queue: could not renew the leases of running jobs", "jobs", len(ids), "error", err)
		}
	}
}

// pool counts the jobs running now, so a round claims no more jobs than
// there are free workers (a claimed job never waits for a worker, so its
// lease is renewed from the moment it is claimed) and queries never fill
// the pool.
type pool struct {
	size, maxQueries int
	// freed wakes the dispatcher when a job finishes.
	freed chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	running int
	queries int
	// ids are the jobs running now, whose leases keepLeases renews.
	ids map[int64]struct{}
}

func newPool(size int) *pool {
	size = max(size, 2)
	return &pool{size: size, maxQueries: size / 2, freed: make(chan struct{}, 1), ids: map[int64]struct{}{}}
}

// held returns the ids of the jobs running now.
func (p *pool) held() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]int64, 0, len(p.ids))
	for id := range p.ids {
		ids = append(ids, id)
	}
	return ids
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
	p.ids[j.ID] = struct{}{}
	p.mu.Unlock()
	p.wg.Go(func() {
		defer func() {
			p.mu.Lock()
			p.running--
			if query {
				p.queries--
			}
			delete(p.ids, j.ID)
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
	first := []huduma.JobKind{huduma.JobPush}
	if s.biller != nil {
		first = append(first, huduma.JobCheckout)
	}
	jobs, err := s.jobs.Claim(ctx, free, s.lease, first...)
	if n := min(free-len(jobs), queries); err == nil && n > 0 {
		var more []huduma.Job
		more, err = s.jobs.Claim(ctx, n, s.lease, huduma.JobQuery)
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

// step is what one run of a job decided.
type step struct {
	// at is when to run the job again; zero: the job is done.
	at  time.Time
	why string
	// free gives the claim's try back: nothing reached Daraja, because
	// its circuit breaker held the call back.
	free bool
}

// runJob runs one claimed push or query job and records its outcome. When
// the record fails the job is claimed again after its lease, which the
// handlers tolerate (they check the attempt's state first).
func (s *Service) runJob(ctx context.Context, j huduma.Job) {
	if j.Kind == huduma.JobCheckout {
		s.runCheckout(ctx, j)
		return
	}
	var p huduma.PromptJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		s.log.ErrorContext(ctx, "bad job payload; dropping", "job", j.ID, "kind", j.Kind)
		if err := s.jobs.Done(ctx, j.ID); err != nil {
			s.log.ErrorContext(ctx, "job queue", "job", j.ID, "error", err)
		}
		return
	}
	var next step
	if j.Kind == huduma.JobPush {
		next = s.push(ctx, j, &p)
	} else { // dispatch claims only pushes and queries
		next = s.query(ctx, &p)
	}
	var err error
	switch {
	case next.at.IsZero():
		err = s.jobs.Done(ctx, j.ID)
	case next.free:
		err = s.jobs.Postpone(ctx, j.ID, next.at, next.why)
	default:
		err = s.jobs.Retry(ctx, j.ID, next.at, next.why, p)
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

// earlier is the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// push sends a queued prompt, and every prompt either reaches the phone
// or ends with a text telling the payer how to pay instead (giveUp):
//
//   - A call the circuit breaker holds back spends no try: the job waits
//     for the breaker (Postpone), so an outage alone never uses up a
//     prompt's tries.
//   - A push that reaches Daraja and fails for an outage is tried again
//     after PushBackoff, 2×, 4×…, pushTries times in all.
//   - Nothing is sent past PushWindow after the prompt fell due: it would
//     come too late to be useful.
//
// A paid or expired invoice is never pushed, and its payer needs no text.
func (s *Service) push(ctx context.Context, j huduma.Job, p *huduma.PromptJob) step {
	a, err := s.jobs.Attempt(ctx, p.AttemptID)
	if err != nil {
		return step{at: s.now().Add(backoff(time.Second, j.Attempts)), why: err.Error()}
	}
	if a.Status != huduma.AttemptQueued {
		s.unrecorded.Delete(a.ID)
		return step{}
	}
	if v, ok := s.unrecorded.Load(a.ID); ok && p.Accepted == nil {
		u := v.(unrecorded)
		p.Accepted, p.Tries = &u.res, max(p.Tries, u.tries)
	}
	if p.Accepted != nil {
		return s.recordPush(ctx, p, a, *p.Accepted)
	}
	inv, err := s.inv.Invoice(ctx, a.Invoice)
	if err != nil {
		return step{at: s.now().Add(backoff(time.Second, j.Attempts)), why: err.Error()}
	}
	if inv.Status == huduma.InvoicePaid || inv.Status == huduma.InvoiceExpired {
		// The rules end it without a text: there is nothing to pay.
		if _, err := s.apply(ctx, huduma.PushNotSentEvent{Attempt: a.ID, Reason: "invoice " + string(inv.Status)}, nil); err != nil {
			return step{at: s.now().Add(backoff(time.Second, j.Attempts)), why: err.Error()}
		}
		return step{}
	}
	deadline := a.CreatedAt.Add(s.cfg.StkDelay + s.cfg.PushWindow)
	switch {
	case p.GiveUp != "":
		return s.giveUp(ctx, j, p, a, inv, p.GiveUp)
	case !s.now().Before(deadline):
		return s.giveUp(ctx, j, p, a, inv, fmt.Sprintf("too late: not sent within %s of falling due", s.cfg.PushWindow))
	case j.Attempts > pushTries:
		// Only a job whose worker died, or whose outcome could not be
		// recorded, runs this often.
		return s.giveUp(ctx, j, p, a, inv, fmt.Sprintf("no outcome recorded after %d runs", j.Attempts-1))
	}
	cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
	defer cancel()
	res, err := s.mp.StkPush(cctx, huduma.STKPush{Phone: a.Payer, Amount: a.Amount, Reference: string(a.Invoice), Description: "eCitizen"})
	s.obs.STKPush(pushOutcome(err))
	var open *breaker.OpenError
	switch {
	case err == nil:
		return s.recordPush(ctx, p, a, res)
	case errors.As(err, &open):
		// Held back before reaching Daraja: wait for the breaker's next
		// trial, but not past the deadline, which then gives up.
		at := earlier(s.now().Add(max(open.Retry, s.cfg.PushBackoff)), deadline)
		s.log.DebugContext(ctx, "stk push held back by the circuit breaker; waiting without spending a try", "invoice", a.Invoice, "until", at)
		return step{at: at, why: err.Error(), free: true}
	case retryable(err) && j.Attempts < pushTries:
		s.log.WarnContext(ctx, "stk push failed; will retry", "invoice", a.Invoice, "try", j.Attempts, "error", err)
		return step{at: earlier(s.now().Add(backoff(s.cfg.PushBackoff, j.Attempts)), deadline), why: err.Error()}
	}
	s.log.ErrorContext(ctx, "stk push not sent", "invoice", a.Invoice, "try", j.Attempts, "error", err)
	return s.giveUp(ctx, j, p, a, inv, err.Error())
}

// giveUp ends a prompt that will not be sent: the attempt becomes unsent
// and the payer, who was told to check their phone, is texted the paybill
// steps and how to ask for a new prompt, in one transaction and once per
// attempt. When the store refuses, the job keeps the reason and its later
// runs only retry this, never the push.
func (s *Service) giveUp(ctx context.Context, j huduma.Job, p *huduma.PromptJob, a huduma.Attempt, inv huduma.Invoice, why string) step {
	plan, err := s.apply(ctx, huduma.PushNotSentEvent{Attempt: a.ID, Reason: why}, nil)
	if err != nil {
		p.GiveUp = why
		return step{at: s.now().Add(backoff(time.Second, j.Attempts)), why: err.Error()}
	}
	if plan.Attempt != nil {
		s.log.WarnContext(ctx, "stk push given up; the payer is texted how to pay instead", "invoice", a.Invoice, "reason", huduma.Redact(why))
	}
	return step{}
}

// unrecorded is a push Daraja accepted that the store has not recorded,
// and how often recording it failed.
type unrecorded struct {
	res   huduma.STKPushResult
	tries int
}

// recordPush records a prompt Daraja accepted. When the store refuses,
// the job keeps Daraja's answer in its payload (and this process in
// Service.unrecorded) and its later runs retry only the record, never the
// push (a second push would be a second prompt on the payer's phone),
// recordTries times in all with growing waits. Then it stops and logs
// why.
func (s *Service) recordPush(ctx context.Context, p *huduma.PromptJob, a huduma.Attempt, res huduma.STKPushResult) step {
	_, err := s.apply(ctx, huduma.PushAcceptedEvent{Attempt: a.ID, Result: res, QueryAt: s.now().Add(s.cfg.QueryAfter)}, nil)
	if err == nil {
		s.unrecorded.Delete(a.ID)
		s.log.InfoContext(ctx, "stk push sent", "invoice", a.Invoice, "checkout", res.CheckoutRequestID)
		return step{}
	}
	s.storeFailed("ledger", err)
	p.Accepted = &res
	p.Tries++
	s.unrecorded.Store(a.ID, unrecorded{res: res, tries: p.Tries})
	if p.Tries >= recordTries {
		s.log.ErrorContext(ctx, "stk push accepted by Daraja but the store refused to record it; stopped trying, and no new prompt is sent. "+
			"Its callback will be logged as for an unknown checkout; a payment made on it is found by the pull worker (MPESA_PULL_EVERY) or the statement",
			"invoice", a.Invoice, "checkout", res.CheckoutRequestID, "tries", p.Tries, "error", err)
		return step{}
	}
	s.log.WarnContext(ctx, "could not record an stk push Daraja accepted; will retry the record, never the push",
		"invoice", a.Invoice, "checkout", res.CheckoutRequestID, "try", p.Tries, "error", err)
	return step{at: s.now().Add(backoff(time.Second, p.Tries-1)), why: err.Error()}
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
// settles it. A query the circuit breaker holds back is no query: it
// waits for the breaker, even past the prompt's end of life, since it may
// be the one that reads the final answer.
func (s *Service) query(ctx context.Context, p *huduma.PromptJob) step {
	a, err := s.jobs.Attempt(ctx, p.AttemptID)
	if err != nil {
		return step{at: s.now().Add(backoff(time.Second, p.Tries)), why: err.Error()}
	}
	if a.Status != huduma.AttemptSent {
		return step{} // settled by a callback meanwhile
	}
	cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
	defer cancel()
	res, err := s.mp.StkQuery(cctx, a.CheckoutRequestID)
	var open *breaker.OpenError
	if errors.As(err, &open) {
		at := s.now().Add(max(open.Retry, s.cfg.PushBackoff))
		s.log.DebugContext(ctx, "stk query held back by the circuit breaker; waiting without counting it", "invoice", a.Invoice, "until", at)
		return step{at: at, why: err.Error(), free: true}
	}
	p.Tries++
	// While an attempt is sent its updated_at is when Daraja took it.
	next := s.nextQuery(s.now(), a.UpdatedAt, p.Tries)
	switch {
	case err != nil && next.IsZero():
		s.log.WarnContext(ctx, "stk query failed; giving up, the invoice stays pending", "invoice", a.Invoice, "tries", p.Tries, "error", err)
		return step{}
	case err != nil:
		s.log.WarnContext(ctx, "stk query failed; will retry", "invoice", a.Invoice, "tries", p.Tries, "next", next, "error", err)
		return step{at: next, why: err.Error()}
	case res.Pending && next.IsZero():
		s.log.InfoContext(ctx, "stk prompt never answered; no more queries, the invoice stays pending", "invoice", a.Invoice, "tries", p.Tries)
		return step{}
	case res.Pending:
		// An answer, not a failure: the customer has not finished yet.
		s.log.DebugContext(ctx, "stk prompt not answered yet", "invoice", a.Invoice, "tries", p.Tries, "next", next)
		return step{at: next, why: "not answered yet"}
	}
	// The query carries no amount or receipt: the amount is the one we
	// asked for in this very prompt.
	res.Amount = a.Amount
	out, err := s.settleSTK(ctx, res, []byte(fmt.Sprintf(`{"query":%q,"ResultCode":%q}`, a.CheckoutRequestID, res.ResultCode)))
	if err != nil {
		return step{at: s.now().Add(time.Second), why: err.Error()}
	}
	s.log.InfoContext(ctx, "stk query settled the prompt", "invoice", a.Invoice, "outcome", out)
	return step{}
}

// expireDue expires the invoices past their expiry: each is settled on its
// own (a short transaction locking one invoice, so sweeps on several
// instances and payments at the same moment never deadlock), and the rules
// decide under its lock whether it expires. It returns how many did.
func (s *Service) expireDue(ctx context.Context) (int, error) {
	due, err := s.jobs.ExpiryCandidates(ctx, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, number := range due {
		plan, err := s.apply(ctx, huduma.ExpireEvent{Invoice: number}, nil)
		if err != nil {
			return n, err
		}
		if plan.Invoice != nil {
			n++
		}
	}
	return n, nil
}
