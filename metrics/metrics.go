// Package metrics is Huduma's Prometheus adapter, the only package besides
// cmd/huduma that knows Prometheus. A Set owns a registry of its own
// (never the global one, so tests and several gateways in one process
// don't collide) holding every huduma_* series of issue #16.
//
// The packages that produce events each declare a small observer
// interface where they use it (payments.Observer, outbox.Observer,
// sqlstore.Observer, ussd.Observer, web.Metrics) with a no-op default;
// *Set implements them all, and cmd/huduma hands one Set to each. Store
// events reach the Set only after their transaction committed (the store
// sees to that), so a rollback or an idempotent replay is never counted.
//
// Every label value is from a closed set fixed here: anything else maps to
// "other", so no phone number, invoice number or text can become a label
// and the series count stays bounded whatever arrives.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/huduma-ke/huduma"
)

// other is the label value for anything outside a label's closed set.
const other = "other"

// ActiveCounter counts live USSD sessions (the session store).
type ActiveCounter interface {
	Active(ctx context.Context) (int64, error)
}

// QueueReader reads the outbox's and the job queue's backlog (the store).
type QueueReader interface {
	QueueStats(ctx context.Context) (huduma.QueueStats, error)
}

// Breaker is a provider's circuit breaker (breaker.Breaker).
type Breaker interface {
	State() string
}

// Options are what the scrape-time gauges read. Any may be nil/empty: that
// gauge is then left out.
type Options struct {
	// SMSProvider names the SMS provider, the provider label of
	// huduma_sms_total ("record-only" when none is configured).
	SMSProvider string
	// Active feeds huduma_ussd_active_sessions.
	Active ActiveCounter
	// Queues feeds the outbox and job gauges.
	Queues QueueReader
	// Breakers feeds huduma_breaker_state, by provider name.
	Breakers map[string]Breaker
	// Simulated names what the gateway fakes ("payments": the M-Pesa
	// simulator; "sms": the record-only outbox): huduma_simulated is 1
	// for those and 0 for the other.
	Simulated []string
	// Log reports a gauge's failed read (once per scrape).
	Log *slog.Logger
}

// Set is every Huduma series on its own registry.
type Set struct {
	reg         *prometheus.Registry
	smsProvider string

	hops        *prometheus.CounterVec
	hopSeconds  *prometheus.HistogramVec
	stkPushes   *prometheus.CounterVec
	stkResults  *prometheus.CounterVec
	callbacks   *prometheus.CounterVec
	paidSeconds prometheus.Histogram
	invoices    *prometheus.CounterVec
	c2b         *prometheus.CounterVec
	suspense    *prometheus.CounterVec
	sms         *prometheus.CounterVec
	otp         *prometheus.CounterVec
	storeErrs   *prometheus.CounterVec
	sessErrs    *prometheus.CounterVec

	// hopCache holds the hop series by label values (hopSeriesOf);
	// hopCacheMu serialises its writers.
	hopCache   atomic.Pointer[map[hopKey]hopSeries]
	hopCacheMu sync.Mutex
}

// The closed label sets.
var (
	hopOutcomes      = set("ok", "end", "invalid_request", "error", "rate_limited", "late")
	stkPushOutcomes  = set("accepted", "refused", "error")
	callbackRoutes   = set("stk", "c2b_validation", "c2b_confirmation", "reversal", "pull_notice", "ecitizen_notify", "sms_delivery", "sms_inbound", "ussd", "ussd_events")
	callbackOutcomes = set("accepted", "rejected")
	callbackReasons  = set("ok", "unauthorized", "malformed", "unknown", "duplicate", "error")
	suspenseEvents   = set("opened", "applied", "refund_requested", "refunded", "refund_failed")
	smsEvents        = set("queued", "sent", "failed", "retried", "delivered", "undelivered")
	otpEvents        = set("sent", "verified", "rejected", "locked", "expired")
	storeOps         = set("invoice", "ledger", "outbox", "jobs", "refunds")
	sessionOps       = set("load", "save")
	simulatedThings  = set("payments", "sms")
	messageKinds     = set(string(huduma.MessageOTP), string(huduma.MessageReceipt), string(huduma.MessageInvoice),
		string(huduma.MessageReply), string(huduma.MessageNotice), string(huduma.MessagePayment))
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// closed returns v when it is in the set, else "other".
func closed(s map[string]bool, v string) string {
	if s[v] {
		return v
	}
	return other
}

// New builds the Set and registers every series, the Go runtime's and the
// process's.
func New(o Options) *Set {
	s := &Set{reg: prometheus.NewRegistry(), smsProvider: o.SMSProvider}
	if s.smsProvider == "" {
		s.smsProvider = "record-only"
	}
	s.hops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_ussd_hops_total",
		Help: "USSD hops by provider, screen shown and outcome (ok, end, invalid_request, error, rate_limited, late): the USSD funnel.",
	}, []string{"provider", "screen", "outcome"})
	s.hopSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "huduma_ussd_hop_seconds",
		Help:    "Time to answer a USSD hop.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
	}, []string{"provider"})
	s.stkPushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_stk_pushes_total",
		Help: "STK push requests to Daraja by outcome (accepted, refused, error).",
	}, []string{"outcome"})
	s.stkResults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_stk_results_total",
		Help: "STK results that decided a prompt (callback or status query), by ResultCode class.",
	}, []string{"class"})
	s.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_callbacks_total",
		Help: "Inbound provider callbacks by route, outcome (accepted, rejected) and reason.",
	}, []string{"route", "outcome", "reason"})
	s.paidSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "huduma_invoice_paid_seconds",
		Help:    "Time from an invoice's creation (the USSD END that made it) to paid.",
		Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600},
	})
	s.invoices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_invoices_total",
		Help: "Invoice events (created, paid, expired).",
	}, []string{"event"})
	s.c2b = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_c2b_payments_total",
		Help: "Received M-Pesa payments (paybill or prompt) as the ledger settled them (applied, suspense, duplicate).",
	}, []string{"outcome"})
	s.suspense = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_suspense_total",
		Help: "Suspense ledger events (opened, applied, refund_requested, refunded, refund_failed).",
	}, []string{"event"})
	s.sms = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_sms_total",
		Help: "SMS events by provider, message kind and event (queued, sent, failed, retried, delivered, undelivered).",
	}, []string{"provider", "kind", "event"})
	s.otp = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_otp_total",
		Help: "One-time code events (sent, verified, rejected, locked, expired).",
	}, []string{"event"})
	s.storeErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_store_errors_total",
		Help: "Store calls that failed for a reason not the caller's, by operation.",
	}, []string{"op"})
	s.sessErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huduma_session_errors_total",
		Help: "Session store calls that failed, by operation (load, save).",
	}, []string{"op"})
	s.reg.MustRegister(s.hops, s.hopSeconds, s.stkPushes, s.stkResults, s.callbacks, s.paidSeconds, s.invoices, s.c2b,
		s.suspense, s.sms, s.otp, s.storeErrs, s.sessErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.zero()

	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Active != nil {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "huduma_ussd_active_sessions",
			Help: "USSD sessions not yet expired (-1: the session store did not answer).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := o.Active.Active(ctx)
			if err != nil {
				log.Warn("metrics: count active sessions", "error", err)
				return -1
			}
			return float64(n)
		}))
	}
	if o.Queues != nil {
		s.reg.MustRegister(&queueCollector{q: o.Queues, log: log})
	}
	if len(o.Breakers) > 0 {
		s.reg.MustRegister(&breakerCollector{b: o.Breakers})
	}
	simulated := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huduma_simulated",
		Help: "1 when this gateway fakes the thing named: payments (the M-Pesa simulator, no money moves) or sms (record-only, no text is sent); else 0.",
	}, []string{"what"})
	for v := range simulatedThings {
		simulated.WithLabelValues(v).Set(0)
	}
	for _, v := range o.Simulated {
		simulated.WithLabelValues(closed(simulatedThings, v)).Set(1)
	}
	s.reg.MustRegister(simulated)
	return s
}

// zero makes the series dashboards and alerts divide by exist from the
// start (at 0), so a ratio is never "no data" before the first event.
func (s *Set) zero() {
	for v := range stkPushOutcomes {
		s.stkPushes.WithLabelValues(v)
	}
	for _, c := range []string{"success", "cancelled", "unreachable", "insufficient_funds", "wrong_pin", other} {
		s.stkResults.WithLabelValues(c)
	}
	for _, e := range []string{"created", "paid", "expired"} {
		s.invoices.WithLabelValues(e)
	}
	for _, o := range []string{"applied", "suspense", "duplicate"} {
		s.c2b.WithLabelValues(o)
	}
	for v := range suspenseEvents {
		s.suspense.WithLabelValues(v)
	}
	for v := range otpEvents {
		s.otp.WithLabelValues(v)
	}
	// The error counters too: a series born at 1 shows in no rate() or
	// increase() until its second error, so the dashboard's error panel
	// would miss the first one.
	for v := range storeOps {
		s.storeErrs.WithLabelValues(v)
	}
	for v := range sessionOps {
		s.sessErrs.WithLabelValues(v)
	}
}

// Registry is the Set's registry (tests, extra collectors).
func (s *Set) Registry() *prometheus.Registry { return s.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (s *Set) Handler() http.Handler { return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}) }

// Hop counts a USSD hop and its time (web.Metrics). screen is a menu
// state name (a short fixed word the menus declare), never user input.
func (s *Set) Hop(provider, screen, outcome string, took time.Duration) {
	hs := s.hopSeriesOf(hopKey{provider, screen, outcome})
	hs.count.Inc()
	hs.seconds.Observe(took.Seconds())
}

// hopKey is a hop's labels as the edge passes them.
type hopKey struct{ provider, screen, outcome string }

// hopSeries are the series one hopKey counts in.
type hopSeries struct {
	count   prometheus.Counter
	seconds prometheus.Observer
}

// maxHopSeries bounds the hop-series cache. Screens are menu states, a
// closed set of a few dozen, so the cache never fills in practice; if
// it did, the rest would be looked up by label as before.
const maxHopSeries = 4096

// hopSeriesOf returns key's series. Looking the series up by label
// values (validating and hashing them, twice, under the vectors' locks)
// was a measurable part of the edge's CPU per hop (issue 23), so they
// are cached, in a map that is copied on write (new keys are rare after
// the first minutes) and read without a lock.
func (s *Set) hopSeriesOf(key hopKey) hopSeries {
	if m := s.hopCache.Load(); m != nil {
		if hs, ok := (*m)[key]; ok {
			return hs
		}
	}
	hs := hopSeries{count: s.hops.WithLabelValues(key.provider, key.screen, closed(hopOutcomes, key.outcome)),
		seconds: s.hopSeconds.WithLabelValues(key.provider)}
	s.hopCacheMu.Lock()
	defer s.hopCacheMu.Unlock()
	old := s.hopCache.Load()
	if old != nil && len(*old) >= maxHopSeries {
		return hs
	}
	m := make(map[hopKey]hopSeries, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	// The key's strings may alias a request's buffers: the cache keeps
	// copies of its own.
	m[hopKey{strings.Clone(key.provider), strings.Clone(key.screen), strings.Clone(key.outcome)}] = hs
	s.hopCache.Store(&m)
	return hs
}

// Callback counts an inbound provider callback (web.Metrics).
func (s *Set) Callback(route, outcome, reason string) {
	s.callbacks.WithLabelValues(closed(callbackRoutes, route), closed(callbackOutcomes, outcome), closed(callbackReasons, reason)).Inc()
}

// STKPush counts a push request to Daraja (payments.Observer): accepted,
// refused or error.
func (s *Set) STKPush(outcome string) {
	s.stkPushes.WithLabelValues(closed(stkPushOutcomes, outcome)).Inc()
}

// STKResult counts a result that decided a prompt, by its Daraja
// ResultCode's class (payments.Observer).
func (s *Set) STKResult(code string) { s.stkResults.WithLabelValues(ResultClass(code)).Inc() }

// ResultClass maps a Daraja STK ResultCode to its class label.
func ResultClass(code string) string {
	switch code {
	case "0":
		return "success"
	case "1032":
		return "cancelled"
	case "1037", "1036", "1019":
		// Not reached, or the prompt timed out on the phone.
		return "unreachable"
	case "1":
		return "insufficient_funds"
	case "2001":
		return "wrong_pin"
	}
	return other
}

// StoreError counts a store call that failed for a reason not the
// caller's (payments.Observer, outbox.Observer).
func (s *Set) StoreError(op string) { s.storeErrs.WithLabelValues(closed(storeOps, op)).Inc() }

// SessionError counts a failed session store call (ussd.Observer).
func (s *Set) SessionError(op string) { s.sessErrs.WithLabelValues(closed(sessionOps, op)).Inc() }

// SMS counts an outbox event of a message of kind (outbox.Observer:
// sent, failed, retried).
func (s *Set) SMS(kind huduma.MessageKind, event string) {
	s.sms.WithLabelValues(s.smsProvider, closed(messageKinds, string(kind)), closed(smsEvents, event)).Inc()
}

// InvoiceCreated counts a new invoice (sqlstore.Observer).
func (s *Set) InvoiceCreated() { s.invoices.WithLabelValues("created").Inc() }

// InvoicePaid counts a paid invoice and its time from creation
// (sqlstore.Observer).
func (s *Set) InvoicePaid(took time.Duration) {
	s.invoices.WithLabelValues("paid").Inc()
	s.paidSeconds.Observe(took.Seconds())
}

// InvoicesExpired counts n expired invoices (sqlstore.Observer).
func (s *Set) InvoicesExpired(n int) { s.invoices.WithLabelValues("expired").Add(float64(n)) }

// PaymentReceived counts a received payment by how the ledger settled it
// (sqlstore.Observer): anything applied to an invoice is "applied"
// (paid, part-paid, overpaid), nothing applied "suspense".
func (s *Set) PaymentReceived(out huduma.Outcome) {
	label := other
	switch out {
	case huduma.OutcomePaid, huduma.OutcomePartial, huduma.OutcomeOverpaid, huduma.OutcomeOtherPayer:
		label = "applied"
	case huduma.OutcomeSuspense:
		label = "suspense"
	case huduma.OutcomeDuplicate:
		label = "duplicate"
	}
	s.c2b.WithLabelValues(label).Inc()
}

// Suspense counts a suspense ledger event (sqlstore.Observer).
func (s *Set) Suspense(event string) { s.suspense.WithLabelValues(closed(suspenseEvents, event)).Inc() }

// OTP counts a one-time code event (sqlstore.Observer).
func (s *Set) OTP(event string) { s.otp.WithLabelValues(closed(otpEvents, event)).Inc() }

// MessageQueued counts a new outbox message (sqlstore.Observer).
func (s *Set) MessageQueued(kind huduma.MessageKind) { s.SMS(kind, "queued") }

// MessageDelivered counts a final delivery report (sqlstore.Observer).
func (s *Set) MessageDelivered(kind huduma.MessageKind, delivered bool) {
	if delivered {
		s.SMS(kind, "delivered")
	} else {
		s.SMS(kind, "undelivered")
	}
}

// queueCollector reads the backlog gauges with one store query per
// scrape. A failed read reports -1 on every gauge and is logged once;
// the scrape itself never fails for it.
type queueCollector struct {
	q   QueueReader
	log *slog.Logger
}

var (
	outboxDepthDesc  = prometheus.NewDesc("huduma_outbox_depth", "SMS queued and not yet sent (-1: the store did not answer).", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("huduma_outbox_oldest_seconds", "Age of the oldest unsent SMS (0 when none; -1: the store did not answer).", nil, nil)
	jobsDepthDesc    = prometheus.NewDesc("huduma_jobs_depth", "Jobs not done, by kind (-1: the store did not answer).", []string{"kind"}, nil)
	jobsLagDesc      = prometheus.NewDesc("huduma_jobs_lag_seconds", "How late the most overdue due, unclaimed job of the kind is (0 when none; -1: the store did not answer).", []string{"kind"}, nil)
	breakerDesc      = prometheus.NewDesc("huduma_breaker_state", "Provider circuit breaker: 0 closed, 1 half-open (trial), 2 open.", []string{"provider"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxOldestDesc
	ch <- jobsDepthDesc
	ch <- jobsLagDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := c.q.QueueStats(ctx)
	if err != nil {
		c.log.Warn("metrics: read queue backlog", "error", err)
		ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, -1)
		ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, -1)
		for _, k := range huduma.JobKinds() {
			ch <- prometheus.MustNewConstMetric(jobsDepthDesc, prometheus.GaugeValue, -1, string(k))
			ch <- prometheus.MustNewConstMetric(jobsLagDesc, prometheus.GaugeValue, -1, string(k))
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(st.OutboxDepth))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, st.OutboxOldest.Seconds())
	// Kinds outside the domain's set (an old row) are summed into
	// "other", so the label stays closed.
	depth, lag := map[string]float64{}, map[string]float64{}
	known := map[huduma.JobKind]bool{}
	for _, k := range huduma.JobKinds() {
		known[k] = true
		depth[string(k)], lag[string(k)] = 0, 0
	}
	for k, js := range st.Jobs {
		name := string(k)
		if !known[k] {
			name = other
		}
		depth[name] += float64(js.Depth)
		lag[name] = max(lag[name], js.Lag.Seconds())
	}
	for k, v := range depth {
		ch <- prometheus.MustNewConstMetric(jobsDepthDesc, prometheus.GaugeValue, v, k)
		ch <- prometheus.MustNewConstMetric(jobsLagDesc, prometheus.GaugeValue, lag[k], k)
	}
}

// breakerCollector reads each provider's breaker at scrape time.
type breakerCollector struct{ b map[string]Breaker }

func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc }

func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for name, b := range c.b {
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, BreakerLevel(b.State()), name)
	}
}

// BreakerLevel maps a breaker's state name to the gauge's value: 0
// closed, 1 half-open, 2 open (an unknown name reads as open, the state
// that asks for attention).
func BreakerLevel(state string) float64 {
	switch state {
	case "closed":
		return 0
	case "half-open":
		return 1
	}
	return 2
}
