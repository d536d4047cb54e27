// Package payments is the money path: it creates invoices, schedules M-Pesa
// prompts, settles them from Daraja callbacks or status queries, and takes
// paybill (C2B) payments, all through the ledger, whose transactions carry
// each change with its audit row and SMS. A background worker runs the
// durable jobs the ledger queues (the push after MPESA_STK_DELAY, the query
// after MPESA_QUERY_AFTER), so nothing is lost across a restart.
package payments

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/texts"
)

// Money is the one way money moves: the store loads and locks what an
// event's key names, the rules (huduma.Settle, through decide) make the
// plan, and the store writes it, all in one transaction.
type Money interface {
	Settle(ctx context.Context, key huduma.LedgerKey, decide func(huduma.LedgerState) (huduma.Plan, error)) (huduma.Plan, error)
}

// Invoices is what reading invoices and texting about them needs.
type Invoices interface {
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	InvoicesByPhone(ctx context.Context, phone huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error)
	QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error
	// RecordCallback keeps a provider's callback that settled nothing.
	RecordCallback(ctx context.Context, kind, reference, outcome string, body []byte) error
}

// Jobs is what the worker needs: the durable queue and the prompts.
type Jobs interface {
	Claim(ctx context.Context, limit int, lease time.Duration, kinds ...huduma.JobKind) ([]huduma.Job, error)
	Done(ctx context.Context, id int64) error
	Retry(ctx context.Context, id int64, runAt time.Time, reason string, payload any) error
	Attempt(ctx context.Context, id int64) (huduma.Attempt, error)
	// ExpiryCandidates lists invoices that look payable and past their
	// expiry, for the sweep to settle.
	ExpiryCandidates(ctx context.Context, limit int) ([]huduma.InvoiceNumber, error)
	// Postpone puts a claimed job back without counting the claim as a
	// try; RenewJobs extends the leases of jobs still running.
	Postpone(ctx context.Context, id int64, runAt time.Time, reason string) error
	RenewJobs(ctx context.Context, ids []int64, lease time.Duration) (int, error)
}

// Ledger is a store that keeps all of them (the store package's DB).
type Ledger interface {
	Money
	Invoices
	Jobs
	Suspense
	Refunds
}

// Catalog is what invoices need from the catalog.
type Catalog interface {
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	FeeBands(ctx context.Context) ([]huduma.FeeBand, error)
}

// Config tunes the service.
type Config struct {
	// StkDelay is the wait between the USSD END and the prompt.
	StkDelay time.Duration
	// QueryAfter is when to ask Daraja if no callback came.
	QueryAfter time.Duration
	// QueryBackoff is the wait after the first query of a prompt that is
	// still undecided, doubled after each later one (default 20 s), until
	// the prompt's life ends (huduma.PromptLife).
	QueryBackoff time.Duration
	// MaxQueries bounds status queries before an attempt is given up.
	MaxQueries int
	// Workers is how many jobs run at once (MPESA_WORKERS, default 16, at
	// least 2); status queries may take at most half of them.
	Workers int
	// PushBackoff is the wait after a push failed for an outage, doubled
	// after each later try (default 2 s: 4, 8, 16, 32 s after tries 1-4;
	// the fifth gives up). It is also how soon a job the circuit breaker
	// held back while its one trial call is under way looks again.
	PushBackoff time.Duration
	// PushWindow is how long after it fell due (StkDelay after the order)
	// a queued prompt may still go (default huduma.PromptLife, 3
	// minutes). Past it the prompt is not sent and the payer is texted
	// how to pay instead: the caller was told "check your phone" and has
	// stopped waiting for a prompt by then, and from about then on the
	// ledger lets a new prompt replace the queued one (from the status
	// screen), so a late push could cross it and put two prompts on the
	// phone.
	PushWindow time.Duration
	// InvoiceTTL is how long an unpaid invoice stays payable.
	InvoiceTTL time.Duration
	// Paybill is the paybill number shown in texts (MPESA_SHORTCODE).
	Paybill string
	// Steps are the steps of paying by hand from each network, which
	// texts give the phone they go to (HUDUMA_PAY_STEPS; nil: the
	// default table).
	Steps *texts.PaySteps
	// NeedServiceID refuses an invoice for a service without an e-Citizen
	// service ID (EInvalid): on the ecitizen billing backend, where such
	// a service cannot be billed.
	NeedServiceID bool
	// ServiceCode is the USSD code texts tell people to dial.
	ServiceCode string
	// CheckoutBudget is how long the hop that orders an invoice waits for
	// e-Citizen's bill (the ecitizen backend; default 1 s): within it the
	// END screen shows the bill number, else it comes by SMS.
	CheckoutBudget time.Duration
	// PromptCap is how many M-Pesa prompts one phone may get from
	// strangers (another phone's invoice, not asked for by the phone
	// itself) in huduma.PromptCapWindow, across instances
	// (HUDUMA_PROMPT_CAP; 0: no cap).
	PromptCap int
}

// Service is the money path.
type Service struct {
	money  Money
	inv    Invoices
	jobs   Jobs
	ledger interface {
		Suspense
		Refunds
	}
	cat Catalog
	// reverser refunds payments (nil: refunds are off).
	reverser providers.Reverser
	// biller bills invoices on e-Citizen (nil: the ledger backend), and
	// billJobs runs their checkout jobs inline.
	biller   providers.Biller
	billJobs BillJobs
	mp       providers.Mpesa
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	obs      Observer
	// lease is how long a claimed prompt or query job stays ours without
	// a renewal (promptLease; tests shorten it).
	lease time.Duration
	// unrecorded holds, by attempt id, the pushes Daraja accepted that
	// the store refused to record (an unrecorded value), for when the
	// job's own record fails too and it comes back without them in its
	// payload: this process then still retries only the record.
	unrecorded sync.Map
}

// New returns a Service.
func New(l Ledger, cat Catalog, mp providers.Mpesa, cfg Config, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	return &Service{money: l, inv: l, jobs: l, ledger: l, cat: cat, mp: mp, cfg: cfg, log: log.With("comp", "payments"), now: time.Now,
		obs: nopObserver{}, lease: promptLease}
}

// Scaled returns c, its unset fields at their defaults, with the waits a
// prompt's fate hangs on (StkDelay, QueryAfter, QueryBackoff, PushBackoff,
// PushWindow) multiplied by f: a test runs an outage's minutes in seconds
// with every ratio between them as in production.
func (cfg Config) Scaled(f float64) Config {
	cfg = cfg.withDefaults()
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	cfg.StkDelay, cfg.QueryAfter, cfg.QueryBackoff = scale(cfg.StkDelay), scale(cfg.QueryAfter), scale(cfg.QueryBackoff)
	cfg.PushBackoff, cfg.PushWindow = scale(cfg.PushBackoff), scale(cfg.PushWindow)
	return cfg
}

// withDefaults fills the unset fields.
func (cfg Config) withDefaults() Config {
	if cfg.QueryAfter <= 0 {
		cfg.QueryAfter = 60 * time.Second
	}
	if cfg.QueryBackoff <= 0 {
		cfg.QueryBackoff = 20 * time.Second
	}
	if cfg.MaxQueries <= 0 {
		cfg.MaxQueries = 8
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.PushBackoff <= 0 {
		cfg.PushBackoff = 2 * time.Second
	}
	if cfg.PushWindow <= 0 {
		cfg.PushWindow = huduma.PromptLife
	}
	if cfg.InvoiceTTL <= 0 {
		cfg.InvoiceTTL = 72 * time.Hour
	}
	if cfg.Paybill == "" {
		cfg.Paybill = "222222"
	}
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*2222#"
	}
	return cfg
}

// CanPrompt reports whether M-Pesa prompts can reach phone
// (huduma.MSISDN.CanPrompt).
func CanPrompt(phone huduma.MSISDN) bool { return phone.CanPrompt() }

// CreateInvoice validates the request against the service's declared
// inputs and writes the invoice with its SMS and, for a Safaricom payer,
// its prompt. It reports whether a prompt was queued.
func (s *Service) CreateInvoice(ctx context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error) {
	sv, err := s.cat.ServiceByCode(ctx, req.ServiceCode)
	if err != nil {
		return huduma.Invoice{}, false, fmt.Errorf("invoice service: %w", err)
	}
	if s.cfg.NeedServiceID && sv.ECitizenServiceID == "" {
		return huduma.Invoice{}, false, huduma.Errorf(huduma.EInvalid,
			"service %d cannot be paid here yet: the catalog has no e-Citizen service ID for it; pay it on ecitizen.go.ke or at the agency", sv.Code)
	}
	fields, err := validateFields(sv, req.Fields, s.now())
	if err != nil {
		return huduma.Invoice{}, false, err
	}
	bands, err := s.cat.FeeBands(ctx)
	if err != nil {
		return huduma.Invoice{}, false, fmt.Errorf("fee bands: %w", err)
	}
	if req.Payer == "" {
		req.Payer = req.Phone
	}
	if req.Lang == "" {
		req.Lang = huduma.English
	}
	conv := huduma.ConvenienceFee(bands, sv.Fee)
	now := s.now()
	inv := huduma.Invoice{ServiceCode: sv.Code, ServiceName: sv.Name(req.Lang), Phone: req.Phone, Fields: fields,
		Fee: sv.Fee, ConvenienceFee: conv, Total: sv.Fee + conv, Status: huduma.InvoicePending, Language: req.Lang,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvoiceTTL)}
	var plan *huduma.PushPlan
	var checkout *huduma.CheckoutJob
	switch {
	case s.biller != nil:
		// e-Citizen sends the prompt, asked for in the checkout, and only
		// to the invoice's own phone: its prompt names no requester and no
		// cap counts it, so another number gets the bill number and its
		// steps instead. The text with the bill number replaces the
		// invoice text.
		checkout = &huduma.CheckoutJob{Payer: req.Payer, Prompt: req.Push && CanPrompt(req.Payer) && req.Payer == req.Phone}
		req.SkipInvoiceSMS = true
	case req.Push && CanPrompt(req.Payer):
		plan = &huduma.PushPlan{Payer: req.Payer, RunAt: now.Add(s.cfg.StkDelay)}
	}
	for try := 0; try < 5; try++ {
		inv.Number = huduma.NewInvoiceNumber()
		var msg *huduma.Message
		if !req.SkipInvoiceSMS {
			msg = &huduma.Message{To: req.Phone, Kind: huduma.MessageInvoice, Body: s.invoiceText(inv)}
		}
		done, err := s.apply(ctx, huduma.InvoiceEvent{Order: huduma.InvoiceOrder{Invoice: inv, Key: req.Key, RequestHash: req.RequestHash,
			Message: msg, Push: plan, Checkout: checkout, CheckoutAt: now.Add(s.checkoutBudget() + time.Second)}, Cap: s.cfg.PromptCap}, nil)
		if huduma.ErrorCode(err) == huduma.EConflict {
			continue // number taken: draw another
		}
		if err != nil {
			return huduma.Invoice{}, false, fmt.Errorf("create invoice: %w", err)
		}
		if done.NewInvoice == nil {
			// The key made an invoice before: that one, as it is now.
			out, err := s.inv.Invoice(ctx, done.KeyInvoice.Number)
			return out, plan != nil, err
		}
		out := done.NewInvoice.Invoice
		s.log.InfoContext(ctx, "invoice created", "invoice", out.Number, "service", sv.Code, "total", out.Total, "prompt", plan != nil)
		if checkout != nil {
			billed, prompted := s.checkoutNow(ctx, out, checkoutJob(done))
			return billed, prompted, nil
		}
		return out, plan != nil, nil
	}
	return huduma.Invoice{}, false, fmt.Errorf("create invoice: no free invoice number after 5 draws")
}

// checkoutJob is the id of the checkout job a plan queued (0: none, or
// queued before).
func checkoutJob(p huduma.Plan) int64 {
	for _, j := range p.Jobs {
		if j.Kind == huduma.JobCheckout {
			return j.ID
		}
	}
	return 0
}

// validateFields checks the values an invoice request carries against the
// service's declared inputs, with the same validator as the USSD and SMS
// channels.
func validateFields(sv huduma.Service, in map[string]string, now time.Time) (map[string]string, error) {
	declared := map[string]bool{}
	out := map[string]string{}
	for _, d := range sv.Inputs {
		declared[d.Key] = true
		v, err := d.Normalize(in[d.Key], now)
		if err != nil {
			return nil, huduma.Errorf(huduma.EInvalid, "%s", huduma.ErrorMessage(err))
		}
		out[d.Key] = v
	}
	var extra []string
	for k := range in {
		if !declared[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, huduma.Errorf(huduma.EInvalid, "service %d does not take %s", sv.Code, strings.Join(extra, ", "))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Invoice returns an invoice by number.
func (s *Service) Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error) {
	return s.inv.Invoice(ctx, number)
}

// InvoicesByPhone lists a phone's invoices, newest first.
func (s *Service) InvoicesByPhone(ctx context.Context, phone huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error) {
	return s.inv.InvoicesByPhone(ctx, phone, offset, limit)
}

// RequestPush queues a prompt for an existing invoice, MPESA_STK_DELAY from
// now (the caller is usually still in a USSD session). It refuses
// non-Safaricom payers (EInvalid), paid or expired invoices and invoices
// with a prompt in flight (EConflict). A non-empty key makes it
// idempotent: the same key again is the prompt already queued. A prompt
// to another phone than the invoice's counts as a stranger's, and a phone
// that has had HUDUMA_PROMPT_CAP of those in the last hour is refused
// (ERateLimited).
func (s *Service) RequestPush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error {
	return s.requestPush(ctx, huduma.PromptEvent{Invoice: number, Payer: payer, Dedupe: key})
}

// RequestPushByPayer is RequestPush for a prompt the payer asked for from
// the phone it goes to, in a USSD session (the network vouches for the
// session's number): never a stranger's, so never refused by the cap.
func (s *Service) RequestPushByPayer(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error {
	return s.requestPush(ctx, huduma.PromptEvent{Invoice: number, Payer: payer, Dedupe: key, ByPayer: true})
}

func (s *Service) requestPush(ctx context.Context, ev huduma.PromptEvent) error {
	if !CanPrompt(ev.Payer) {
		return huduma.Errorf(huduma.EInvalid, "M-Pesa prompts go only to Safaricom numbers")
	}
	if s.biller != nil {
		// e-Citizen prompts through a repeat checkout.
		if _, err := s.apply(ctx, huduma.CheckoutEvent{Invoice: ev.Invoice, Payer: ev.Payer, Dedupe: ev.Dedupe}, nil); err != nil {
			return fmt.Errorf("queue prompt: %w", err)
		}
		return nil
	}
	ev.RunAt, ev.Cap = s.now().Add(s.cfg.StkDelay), s.cfg.PromptCap
	if _, err := s.apply(ctx, ev, nil); err != nil {
		return fmt.Errorf("queue prompt: %w", err)
	}
	return nil
}

// ResendReceipt texts a paid invoice's receipt again to phone, once per
// key (empty: every call). A receipt names the M-Pesa payment, so a copy
// goes only to the invoice's own phone: another phone is refused
// (EForbidden) and nothing is sent.
func (s *Service) ResendReceipt(ctx context.Context, number huduma.InvoiceNumber, phone huduma.MSISDN, key string) error {
	inv, err := s.inv.Invoice(ctx, number)
	if err != nil {
		return err
	}
	if inv.Phone != phone {
		return huduma.Errorf(huduma.EForbidden, "a receipt goes only to the invoice's own phone")
	}
	if inv.Status != huduma.InvoicePaid {
		return huduma.Errorf(huduma.EConflict, "invoice %s is not paid", number)
	}
	return s.inv.QueueMessage(ctx, s.receipt(inv), key)
}

// SendServiceDetails texts a service's fee and paybill details to phone,
// once per key (empty: every call). It answers the caller's own request
// ("SMS me details"), so it goes as a reply: STOP holds notices, not
// answers.
func (s *Service) SendServiceDetails(ctx context.Context, phone huduma.MSISDN, code int, lang huduma.Language, key string) error {
	sv, err := s.cat.ServiceByCode(ctx, code)
	if err != nil {
		return err
	}
	bands, err := s.cat.FeeBands(ctx)
	if err != nil {
		return fmt.Errorf("fee bands: %w", err)
	}
	body := texts.ServiceDetailsSMS(sv, huduma.ConvenienceFee(bands, sv.Fee), lang, s.cfg.ServiceCode)
	return s.inv.QueueMessage(ctx, huduma.Message{To: phone, Kind: huduma.MessageReply, Body: body}, key)
}

// invoiceText is the invoice SMS: number, service, and how to pay it
// from the network of the invoice's phone, which it goes to.
func (s *Service) invoiceText(inv huduma.Invoice) string { return texts.InvoiceSMS(inv, s.how()) }

// how is what texts need to tell a payer how to pay by hand.
func (s *Service) how() texts.HowToPay {
	return texts.HowToPay{Paybill: s.cfg.Paybill, Steps: s.cfg.Steps, Billed: s.biller != nil}
}

// receipt is the receipt SMS to the invoice's phone.
func (s *Service) receipt(inv huduma.Invoice) huduma.Message {
	when := s.now()
	if inv.PaidAt != nil {
		when = *inv.PaidAt
	}
	return huduma.Message{To: inv.Phone, Kind: huduma.MessageReceipt, Body: texts.ReceiptSMS(inv, when)}
}

// HandleSTK applies an STK result (from a callback or a query) and
// returns what it did. Unknown CheckoutRequestIDs and wrong amounts are
// recorded and ignored; repeats change nothing (huduma.OutcomeDuplicate);
// success queues exactly one receipt. The raw body is kept in the
// callback log.
func (s *Service) HandleSTK(ctx context.Context, res huduma.STKResult, raw []byte) (huduma.Outcome, error) {
	return s.settleSTK(ctx, res, raw)
}

func (s *Service) settleSTK(ctx context.Context, res huduma.STKResult, raw []byte) (huduma.Outcome, error) {
	plan, err := s.apply(ctx, huduma.STKResultEvent{Result: res}, &huduma.CallbackRecord{Kind: "stk", Reference: res.CheckoutRequestID, Body: raw})
	if err != nil {
		return "", fmt.Errorf("settle stk result: %w", err)
	}
	switch out := plan.Outcome; out {
	case huduma.OutcomeUnknown, huduma.OutcomeMismatch:
		s.log.WarnContext(ctx, "stk result ignored", "checkout", res.CheckoutRequestID, "outcome", out)
	case huduma.OutcomeReceiptReused:
		s.log.WarnContext(ctx, "stk result reuses another payment's M-Pesa receipt; not applied, the status query will ask Daraja",
			"checkout", res.CheckoutRequestID, "outcome", out)
	case huduma.OutcomeOtherPayer:
		s.log.WarnContext(ctx, "invoice paid from another phone than the one prompted; flagged in the audit log",
			"checkout", res.CheckoutRequestID, "outcome", out)
	}
	return plan.Outcome, nil
}

// apply runs one money event: the store loads and locks what its key
// names, the rules decide (with this service's texts), and the store
// writes the plan with cb, the callback it came in, in one transaction.
// Once that committed, the plan's events are told to the observer.
func (s *Service) apply(ctx context.Context, ev huduma.MoneyEvent, cb *huduma.CallbackRecord) (huduma.Plan, error) {
	return s.settle(ctx, ev.Key(), ev, func(p *huduma.Plan) { p.Callback = cb })
}

// settle is apply with the key to load and what to add to the plan
// before it is written (finish) given by the caller.
func (s *Service) settle(ctx context.Context, key huduma.LedgerKey, ev huduma.MoneyEvent, finish func(*huduma.Plan)) (huduma.Plan, error) {
	plan, err := s.money.Settle(ctx, key, func(st huduma.LedgerState) (huduma.Plan, error) {
		p, err := huduma.Settle(st, ev, s.texts())
		finish(&p)
		return p, err
	})
	if err != nil {
		s.storeFailed("ledger", err)
		return plan, err
	}
	for _, e := range plan.Events {
		switch e.Kind {
		case huduma.EventSTKResult:
			s.obs.STKResult(e.Name)
		case huduma.EventPaymentReceived:
			s.obs.PaymentReceived(e.Outcome)
		case huduma.EventInvoicePaid:
			s.obs.InvoicePaid(e.Took)
		case huduma.EventInvoiceExpired:
			s.obs.InvoicesExpired(1)
		case huduma.EventInvoiceCreated:
			s.obs.InvoiceCreated()
		case huduma.EventSuspense:
			s.obs.Suspense(e.Name)
		}
	}
	return plan, nil
}

// RecordNotice keeps a notice Daraja posts that needs no action (the Pull
// Transactions API's), in the callback log.
func (s *Service) RecordNotice(ctx context.Context, kind string, raw []byte) error {
	return s.inv.RecordCallback(ctx, kind, "", "noted", raw)
}

// RecordRejected keeps a callback that could not be read at all.
func (s *Service) RecordRejected(ctx context.Context, kind string, raw []byte, why string) error {
	return s.inv.RecordCallback(ctx, kind, "", "rejected: "+why, raw)
}

// C2B validation codes a validation reply rejects with; "" accepts.
const (
	C2BUnknownAccount = "C2B00012"
	C2BWrongAmount    = "C2B00013"
)

// ValidateC2B decides whether a paybill payment may go through (when
// Safaricom has turned validation on for the paybill): the account must
// be a payable invoice and the amount at most its balance due (payments
// accumulate, so less is a part payment; more would only be refunded). It
// returns "" to accept or the Daraja rejection code.
func (s *Service) ValidateC2B(ctx context.Context, p huduma.PaybillPayment) (string, error) {
	number, err := huduma.ParseInvoiceNumber(p.Account)
	if err != nil {
		return C2BUnknownAccount, nil
	}
	inv, err := s.inv.Invoice(ctx, number)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return C2BUnknownAccount, nil
	}
	if err != nil {
		return "", err
	}
	if inv.Status == huduma.InvoicePaid || inv.Status == huduma.InvoiceExpired {
		return C2BUnknownAccount, nil
	}
	if p.Amount < 1 || p.Amount > inv.Due() {
		return C2BWrongAmount, nil
	}
	return "", nil
}

// ConfirmC2B records a confirmed paybill payment (idempotent on TransID)
// and applies it by the accumulate rule; what matches no payable invoice
// is held in suspense, never dropped.
// It returns how the ledger settled it (huduma.OutcomeDuplicate for a
// TransID seen before).
func (s *Service) ConfirmC2B(ctx context.Context, p huduma.PaybillPayment, raw []byte) (huduma.Outcome, error) {
	st, err := s.receive(ctx, p, huduma.SourceC2B, &huduma.CallbackRecord{Kind: "c2b", Reference: p.TransID, Body: raw})
	if err != nil {
		return "", err
	}
	return st.Outcome, nil
}

// receive records a paybill payment learned from source (with cb, the
// callback it came in, when it came in one).
func (s *Service) receive(ctx context.Context, p huduma.PaybillPayment, source huduma.PaymentSource, cb *huduma.CallbackRecord) (huduma.Settlement, error) {
	number, _ := huduma.ParseInvoiceNumber(p.Account)
	plan, err := s.apply(ctx, huduma.PaymentEvent{Payment: huduma.C2BPayment{TransID: p.TransID, Invoice: number, Account: p.Account, Amount: p.Amount,
		MSISDN: p.MSISDN, PaidAt: p.At, Source: source}}, cb)
	st := plan.Settlement
	if err != nil {
		return st, fmt.Errorf("settle %s payment: %w", source, err)
	}
	if st.Outcome == huduma.OutcomeSuspense || st.Outcome == huduma.OutcomeOverpaid {
		s.log.WarnContext(ctx, "paybill payment held in suspense", "trans", p.TransID, "source", source, "outcome", st.Outcome,
			"reason", st.Reason, "held", st.Suspense)
	}
	return st, nil
}
