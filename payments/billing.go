package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/providers"
)

// The ecitizen billing backend: every invoice is also a bill on
// e-Citizen's payment platform, whose number is the account a payer
// quotes on any network, and e-Citizen's notifications are the payments.
// The invoice's transaction queues its checkout job (once per invoice);
// the hop that ordered the invoice runs that job at once, within a
// budget, so the END screen can show the bill number; otherwise the
// worker retries it and the bill number comes by SMS.

// BillJobs is what running checkout jobs inline needs of the queue.
type BillJobs interface {
	ClaimJob(ctx context.Context, id int64, lease time.Duration) (huduma.Job, bool, error)
	SaveJobPayload(ctx context.Context, id int64, payload any) error
}

// checkoutTries bounds the runs of a checkout job before it gives up and
// the payer is texted.
const checkoutTries = 8

// checkoutPatience is how long after its order an invoice's checkout
// waits out an outage without spending tries; past it, a checkout the
// breaker holds back is a failed try like any other, so an outage that
// never ends still ends with the payer texted.
const checkoutPatience = time.Hour

// defaultCheckoutBudget is how long the hop waits for e-Citizen when
// Config.CheckoutBudget is unset.
const defaultCheckoutBudget = time.Second

// WithBillBreaker puts a circuit breaker around b, as WithBreaker does
// around Daraja: checkouts failing in a row open it, and while it is open
// a checkout fails at once with a *breaker.OpenError, which the checkout
// job waits out without spending a try. A refused bill (EInvalid) is
// e-Citizen answering, not an outage. A checkout that outlived the hop's
// budget counts as failed: the breaker has no neutral outcome, and
// counting it a success would close a breaker on a hanging e-Citizen.
func WithBillBreaker(b providers.Biller, br *breaker.Breaker) providers.Biller {
	return guardedBiller{b, br}
}

type guardedBiller struct {
	b  providers.Biller
	br *breaker.Breaker
}

// errTrialFailed marks a checkout that was the breaker's trial and
// failed: the outage goes on. Its try is not the bill's: otherwise the
// job that wins every trial would spend all its tries on one outage.
var errTrialFailed = errors.New("the e-Citizen breaker's trial checkout failed")

func (g guardedBiller) CreateBill(ctx context.Context, o providers.BillOrder) (created providers.CreatedBill, err error) {
	failed := func(err error) bool { return huduma.ErrorCode(err) != huduma.EInvalid }
	trial := g.br.State() == breaker.HalfOpen
	err = g.br.Do(func() error { created, err = g.b.CreateBill(ctx, o); return err }, failed)
	var open *breaker.OpenError
	if trial && err != nil && failed(err) && !errors.As(err, &open) {
		err = fmt.Errorf("%w: %w", errTrialFailed, err)
	}
	return created, err
}

// EnableBilling turns on the ecitizen backend: invoices are billed by b,
// no Daraja prompt is queued (e-Citizen sends its own), and services
// without an e-Citizen serviceID cannot be invoiced.
func (s *Service) EnableBilling(b providers.Biller, jobs BillJobs) {
	s.biller, s.billJobs = b, jobs
	s.cfg.NeedServiceID = true
}

// Billing reports whether the ecitizen backend is on.
func (s *Service) Billing() bool { return s.biller != nil }

// checkoutNow runs the checkout job id the invoice's creation queued, at
// once, within the checkout budget. It returns the invoice as it is then
// and whether e-Citizen was asked for a prompt and answered. A job that
// could not finish stays queued for the worker.
func (s *Service) checkoutNow(ctx context.Context, inv huduma.Invoice, id int64) (huduma.Invoice, bool) {
	if id == 0 || s.billJobs == nil {
		return inv, false
	}
	budget := s.checkoutBudget()
	j, ok, err := s.billJobs.ClaimJob(ctx, id, s.lease)
	if err != nil || !ok {
		return inv, false
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	res := s.checkout(cctx, j, true)
	s.finishJob(context.WithoutCancel(ctx), j, res)
	if res.bill == "" {
		return inv, false
	}
	inv.Bill = res.bill
	return inv, res.prompted
}

// checkoutBudget is how long the creator of an invoice waits for its
// checkout, inline.
func (s *Service) checkoutBudget() time.Duration {
	if s.cfg.CheckoutBudget > 0 {
		return s.cfg.CheckoutBudget
	}
	return defaultCheckoutBudget
}

// checkoutResult is what one run of a checkout job did.
type checkoutResult struct {
	step
	payload  huduma.CheckoutJob
	bill     string
	prompted bool
}

// runCheckout runs a checkout job the worker claimed.
func (s *Service) runCheckout(ctx context.Context, j huduma.Job) {
	s.finishJob(ctx, j, s.checkout(ctx, j, false))
}

// finishJob records a checkout run's outcome on its job.
func (s *Service) finishJob(ctx context.Context, j huduma.Job, r checkoutResult) {
	var err error
	switch {
	case r.at.IsZero():
		err = s.jobs.Done(ctx, j.ID)
	case r.free:
		err = s.jobs.Postpone(ctx, j.ID, r.at, r.why)
	default:
		err = s.jobs.Retry(ctx, j.ID, r.at, r.why, r.payload)
	}
	if err != nil {
		s.storeFailed("jobs", err)
		s.log.ErrorContext(ctx, "job queue: could not record the checkout's outcome; it runs again after its lease", "job", j.ID, "error", err)
	}
}

// checkout bills an invoice on e-Citizen once: a billed, paid or expired
// invoice needs nothing; a prompt is asked for only if no earlier run
// asked (recorded before the call); a refusal or the last try gives up
// and texts the payer. shown says the caller shows the bill number.
func (s *Service) checkout(ctx context.Context, j huduma.Job, shown bool) checkoutResult {
	var p huduma.CheckoutJob
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Invoice == "" {
		s.log.ErrorContext(ctx, "bad checkout job payload; dropping", "job", j.ID)
		return checkoutResult{}
	}
	r := checkoutResult{payload: p}
	retry := func(why string) checkoutResult {
		r.step = step{at: s.now().Add(backoff(s.cfg.PushBackoff, j.Attempts-1)), why: why}
		return r
	}
	inv, err := s.inv.Invoice(ctx, p.Invoice)
	if err != nil {
		return retry(err.Error())
	}
	reprompt := p.Prompt && inv.Bill != ""
	if !inv.Payable() || inv.Bill != "" && !reprompt || p.Asked && inv.Bill != "" {
		return r
	}
	sv, err := s.cat.ServiceByCode(ctx, inv.ServiceCode)
	if err != nil {
		return retry(err.Error())
	}
	payer := p.Payer
	if payer == "" {
		payer = inv.Phone
	}
	send := p.Prompt && !p.Asked && payer.CanPrompt()
	if send {
		// On record before the call: whatever becomes of the answer, no
		// later run asks for a second prompt.
		r.payload.Asked = true
		if err := s.billJobs.SaveJobPayload(ctx, j.ID, r.payload); err != nil {
			return retry(err.Error())
		}
	}
	created, err := s.biller.CreateBill(ctx, providers.BillOrder{Invoice: inv, ServiceID: sv.ECitizenServiceID, Payer: payer, SendSTK: send})
	var open *breaker.OpenError
	patient := s.now().Before(inv.CreatedAt.Add(checkoutPatience))
	if errors.As(err, &open) && patient {
		return s.heldBack(ctx, j, r, open, send)
	}
	if errors.Is(err, errTrialFailed) && patient {
		// It reached e-Citizen (a prompt asked for stays asked), but spends
		// no try: the next run waits for the breaker.
		s.log.WarnContext(ctx, "e-Citizen checkout failed as the breaker's trial; the outage goes on", "invoice", inv.Number, "error", err)
		r.step = step{at: s.now().Add(s.cfg.PushBackoff), why: err.Error(), free: true}
		return r
	}
	if err != nil {
		s.log.WarnContext(ctx, "e-Citizen checkout failed", "invoice", inv.Number, "try", j.Attempts, "error", err)
		if huduma.ErrorCode(err) != huduma.EInvalid && j.Attempts < checkoutTries {
			return retry(err.Error())
		}
		if inv.Bill == "" {
			if _, aerr := s.apply(ctx, huduma.CheckoutFailedEvent{Invoice: inv.Number, Reason: err.Error()}, nil); aerr != nil {
				return retry(aerr.Error())
			}
		}
		return r
	}
	plan, err := s.apply(ctx, huduma.BillEvent{Invoice: inv.Number, Bill: created.Number, Shown: shown}, nil)
	if err != nil {
		// Asked again, e-Citizen answers with the same bill.
		return retry(err.Error())
	}
	if plan.Outcome == huduma.OutcomeBillConflict {
		s.log.WarnContext(ctx, "e-Citizen answered a repeat checkout with another bill; the first is kept", "invoice", inv.Number)
	}
	r.bill, r.prompted = created.Number, send
	if inv.Bill != "" {
		r.bill = inv.Bill
	}
	s.log.InfoContext(ctx, "invoice billed on e-Citizen", "invoice", inv.Number, "bill", r.bill, "prompt", send)
	return r
}

// heldBack waits out the breaker that held a checkout back: nothing
// reached e-Citizen, so the run spends no try, and a prompt recorded as
// asked for was not, so the next run asks for it.
func (s *Service) heldBack(ctx context.Context, j huduma.Job, r checkoutResult, open *breaker.OpenError, send bool) checkoutResult {
	if send {
		r.payload.Asked = false
		if err := s.billJobs.SaveJobPayload(ctx, j.ID, r.payload); err != nil {
			// Left as asked: the payer may miss a prompt, never get two.
			s.log.WarnContext(ctx, "could not take back a prompt the breaker held back", "invoice", r.payload.Invoice, "error", err)
		}
	}
	at := s.now().Add(max(open.Retry, s.cfg.PushBackoff))
	s.log.DebugContext(ctx, "e-Citizen checkout held back by the circuit breaker; waiting without spending a try", "invoice", r.payload.Invoice, "until", at)
	r.step = step{at: at, why: open.Error(), free: true}
	return r
}

// transID is the payment's id in the ledger: its reference, else one
// drawn from its dedupe key (the same for every copy of it).
func billTransID(p providers.BillPayment) string {
	if r := strings.TrimSpace(p.Reference); r != "" {
		return r
	}
	sum := sha256.Sum256([]byte(p.Dedupe))
	return "EC" + strings.ToUpper(hex.EncodeToString(sum[:15]))
}

// ConfirmBillPayment settles a payment e-Citizen notified through the
// same rules as a paybill payment: part, paid, over (held), already paid
// or an unknown bill (held). The raw notification is kept once, with the
// first copy; repeats change nothing.
func (s *Service) ConfirmBillPayment(ctx context.Context, p providers.BillPayment, raw []byte) (huduma.Outcome, error) {
	number, _ := huduma.ParseInvoiceNumber(p.Ref)
	trans := billTransID(p)
	ev := huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: trans, Invoice: number, Account: firstOf(p.Bill, p.Ref), Amount: p.Amount,
		MSISDN: p.Phone, PaidAt: p.PaidAt, Source: huduma.SourceECitizen}}
	key := ev.Key()
	if number == "" {
		key.Bill = p.Bill
	}
	cb := &huduma.CallbackRecord{Kind: "ecitizen", Reference: trans, Body: raw}
	plan, err := s.settle(ctx, key, ev, func(p *huduma.Plan) {
		if p.Outcome != huduma.OutcomeDuplicate {
			p.Callback = cb
		}
	})
	if err != nil {
		return "", fmt.Errorf("settle e-Citizen payment: %w", err)
	}
	st := plan.Settlement
	if st.Outcome == huduma.OutcomeSuspense || st.Outcome == huduma.OutcomeOverpaid {
		s.log.WarnContext(ctx, "e-Citizen payment held in suspense", "trans", trans, "outcome", st.Outcome, "reason", st.Reason, "held", st.Suspense)
	}
	return plan.Outcome, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// UnpaidReader lists the invoices not paid (the store).
type UnpaidReader interface {
	UnpaidInvoices(ctx context.Context, limit int) ([]huduma.Invoice, error)
}

// BillsReport is where the unpaid invoices of the ecitizen backend
// stand: billed and still payable (Open), never billed though payable
// (NotBilled: the checkout is still being retried, or gave up), and
// unpaid past their expiry (ExpiredUnpaid), which is reported, never
// silently dropped, since e-Citizen may still take money for the bill.
type BillsReport struct {
	Open          []BillRow `json:"open"`
	NotBilled     []BillRow `json:"not_billed"`
	ExpiredUnpaid []BillRow `json:"expired_unpaid"`
}

// BillRow is one unpaid invoice in the report, its phone masked.
type BillRow struct {
	Invoice   huduma.InvoiceNumber `json:"invoice"`
	Bill      string               `json:"bill,omitempty"`
	Service   int                  `json:"service"`
	Total     int64                `json:"total"`
	Received  int64                `json:"received"`
	Status    huduma.InvoiceStatus `json:"status"`
	Phone     string               `json:"phone"`
	CreatedAt time.Time            `json:"created_at"`
	ExpiresAt time.Time            `json:"expires_at"`
}

// ReportBills sorts up to limit unpaid invoices into a BillsReport as of
// now. It needs only the database.
func ReportBills(ctx context.Context, r UnpaidReader, now time.Time, limit int) (BillsReport, error) {
	unpaid, err := r.UnpaidInvoices(ctx, limit)
	if err != nil {
		return BillsReport{}, err
	}
	rep := BillsReport{Open: []BillRow{}, NotBilled: []BillRow{}, ExpiredUnpaid: []BillRow{}}
	for _, inv := range unpaid {
		row := BillRow{Invoice: inv.Number, Bill: inv.Bill, Service: inv.ServiceCode, Total: inv.Total, Received: inv.Received, Status: inv.Status,
			Phone: inv.Phone.Masked(), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
		switch {
		case inv.Status == huduma.InvoiceExpired || !now.Before(inv.ExpiresAt):
			rep.ExpiredUnpaid = append(rep.ExpiredUnpaid, row)
		case inv.Bill == "":
			rep.NotBilled = append(rep.NotBilled, row)
		default:
			rep.Open = append(rep.Open, row)
		}
	}
	return rep, nil
}
