package metrics

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/huduma-ke/huduma"
)

type fakeQueues struct {
	st  huduma.QueueStats
	err error
}

func (f *fakeQueues) QueueStats(context.Context) (huduma.QueueStats, error) { return f.st, f.err }

type fakeBreaker string

func (b fakeBreaker) State() string { return string(b) }

// TestObserverMethodsMoveTheirSeries: each observer method moves its own
// series, and values outside a label's closed set land in "other".
func TestObserverMethodsMoveTheirSeries(t *testing.T) {
	s := New(Options{SMSProvider: "africastalking"})
	cases := []struct {
		name string
		do   func()
		c    prometheus.Collector
	}{
		{"hop", func() { s.Hop("africastalking", "main", "ok", time.Millisecond) }, s.hops.WithLabelValues("africastalking", "main", "ok")},
		{"hop outcome closed", func() { s.Hop("africastalking", "main", "weird", 0) }, s.hops.WithLabelValues("africastalking", "main", other)},
		{"callback", func() { s.Callback("stk", "accepted", "ok") }, s.callbacks.WithLabelValues("stk", "accepted", "ok")},
		{"callback closed", func() { s.Callback("/payments/x?id=254712345678", "maybe", "because") }, s.callbacks.WithLabelValues(other, other, other)},
		{"stk push", func() { s.STKPush("accepted") }, s.stkPushes.WithLabelValues("accepted")},
		{"stk result", func() { s.STKResult("1032") }, s.stkResults.WithLabelValues("cancelled")},
		{"stk result other", func() { s.STKResult("9999") }, s.stkResults.WithLabelValues(other)},
		{"store error", func() { s.StoreError("jobs") }, s.storeErrs.WithLabelValues("jobs")},
		{"session error", func() { s.SessionError("save") }, s.sessErrs.WithLabelValues("save")},
		{"sms", func() { s.SMS(huduma.MessageReceipt, "sent") }, s.sms.WithLabelValues("africastalking", "receipt", "sent")},
		{"sms unknown kind", func() { s.SMS("marketing", "sent") }, s.sms.WithLabelValues("africastalking", other, "sent")},
		{"queued", func() { s.MessageQueued(huduma.MessageOTP) }, s.sms.WithLabelValues("africastalking", "otp", "queued")},
		{"delivered", func() { s.MessageDelivered(huduma.MessageOTP, true) }, s.sms.WithLabelValues("africastalking", "otp", "delivered")},
		{"undelivered", func() { s.MessageDelivered(huduma.MessageOTP, false) }, s.sms.WithLabelValues("africastalking", "otp", "undelivered")},
		{"invoice created", s.InvoiceCreated, s.invoices.WithLabelValues("created")},
		{"invoice paid", func() { s.InvoicePaid(40 * time.Second) }, s.invoices.WithLabelValues("paid")},
		{"invoices expired", func() { s.InvoicesExpired(1) }, s.invoices.WithLabelValues("expired")},
		{"payment applied", func() { s.PaymentReceived(huduma.OutcomePartial) }, s.c2b.WithLabelValues("applied")},
		{"payment suspense", func() { s.PaymentReceived(huduma.OutcomeSuspense) }, s.c2b.WithLabelValues("suspense")},
		{"payment duplicate", func() { s.PaymentReceived(huduma.OutcomeDuplicate) }, s.c2b.WithLabelValues("duplicate")},
		{"suspense", func() { s.Suspense("refunded") }, s.suspense.WithLabelValues("refunded")},
		{"otp", func() { s.OTP("locked") }, s.otp.WithLabelValues("locked")},
		{"otp closed", func() { s.OTP("123456") }, s.otp.WithLabelValues(other)},
	}
	for _, c := range cases {
		before := testutil.ToFloat64(c.c)
		c.do()
		if got := testutil.ToFloat64(c.c); got != before+1 {
			t.Errorf("%s: %v -> %v, want +1", c.name, before, got)
		}
	}
	if n := testutil.CollectAndCount(s.paidSeconds); n != 1 {
		t.Fatalf("paid histogram series %d", n)
	}
	var m dto.Metric
	if err := s.paidSeconds.Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 40 {
		t.Fatalf("paid histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestResultClasses(t *testing.T) {
	for code, want := range map[string]string{"0": "success", "1032": "cancelled", "1037": "unreachable", "1036": "unreachable",
		"1": "insufficient_funds", "2001": "wrong_pin", "17": other, "": other} {
		if got := ResultClass(code); got != want {
			t.Errorf("ResultClass(%q) = %q, want %q", code, got, want)
		}
	}
}

// TestGauges: the backlog and breaker gauges read at scrape time; a
// failed store read gives -1 and the scrape still succeeds.
func TestGauges(t *testing.T) {
	q := &fakeQueues{st: huduma.QueueStats{OutboxDepth: 3, OutboxOldest: 90 * time.Second, Jobs: map[huduma.JobKind]huduma.JobStats{
		huduma.JobPush: {Depth: 2, Lag: 12 * time.Second}, "legacy": {Depth: 5, Lag: time.Second}}}}
	s := New(Options{Queues: q, Breakers: map[string]Breaker{"daraja": fakeBreaker("open"), "africastalking": fakeBreaker("half-open"),
		"kannel": fakeBreaker("closed")}})
	want := func(name string, labels map[string]string, v float64) {
		t.Helper()
		fams, err := s.reg.Gather()
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				ok := true
				for _, l := range m.GetLabel() {
					if w, has := labels[l.GetName()]; has && w != l.GetValue() {
						ok = false
					}
				}
				if ok {
					if got := m.GetGauge().GetValue(); got != v {
						t.Fatalf("%s%v = %v, want %v", name, labels, got, v)
					}
					return
				}
			}
		}
		t.Fatalf("%s%v missing", name, labels)
	}
	want("huduma_outbox_depth", nil, 3)
	want("huduma_outbox_oldest_seconds", nil, 90)
	want("huduma_jobs_depth", map[string]string{"kind": "stk_push"}, 2)
	want("huduma_jobs_lag_seconds", map[string]string{"kind": "stk_push"}, 12)
	want("huduma_jobs_depth", map[string]string{"kind": "stk_query"}, 0)
	want("huduma_jobs_depth", map[string]string{"kind": other}, 5)
	want("huduma_breaker_state", map[string]string{"provider": "daraja"}, 2)
	want("huduma_breaker_state", map[string]string{"provider": "africastalking"}, 1)
	want("huduma_breaker_state", map[string]string{"provider": "kannel"}, 0)

	q.err = errors.New("database down")
	want("huduma_outbox_depth", nil, -1)
	want("huduma_outbox_oldest_seconds", nil, -1)
	want("huduma_jobs_depth", map[string]string{"kind": "stk_push"}, -1)
	want("huduma_jobs_lag_seconds", map[string]string{"kind": "reversal"}, -1)
}

// TestHopSeriesCache: hops counted through the series cache land in the
// same series as before it, each time, also once the cache is full, and
// the histogram sees every hop.
func TestHopSeriesCache(t *testing.T) {
	s := New(Options{})
	for i := 0; i < 3; i++ {
		s.Hop("africastalking", "main", "ok", time.Millisecond)
		s.Hop("africastalking", "main", "weird", time.Millisecond)
	}
	if got := testutil.ToFloat64(s.hops.WithLabelValues("africastalking", "main", "ok")); got != 3 {
		t.Fatalf("main/ok counted %v, want 3", got)
	}
	if got := testutil.ToFloat64(s.hops.WithLabelValues("africastalking", "main", other)); got != 3 {
		t.Fatalf("main/other counted %v, want 3", got)
	}
	for i := 0; i < maxHopSeries+10; i++ {
		s.Hop("hubtel", "screen"+strconv.Itoa(i%(maxHopSeries+5)), "end", 0)
	}
	if n := len(*s.hopCache.Load()); n != maxHopSeries {
		t.Fatalf("cache holds %d series, want the cap %d", n, maxHopSeries)
	}
	// screen0 is cached and came twice; the later one is past the cap.
	for screen, want := range map[string]float64{"screen0": 2, "screen" + strconv.Itoa(maxHopSeries+2): 1} {
		if got := testutil.ToFloat64(s.hops.WithLabelValues("hubtel", screen, "end")); got != want {
			t.Fatalf("%s counted %v, want %v", screen, got, want)
		}
	}
	var m dto.Metric
	if err := s.hopSeconds.WithLabelValues("hubtel").(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetHistogram().GetSampleCount(); got != maxHopSeries+10 {
		t.Fatalf("hubtel hop seconds saw %d hops, want %d", got, maxHopSeries+10)
	}
}
