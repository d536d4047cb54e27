package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/huduma-ke/huduma"
	_ "github.com/huduma-ke/huduma/internal/fakesms"
	"github.com/huduma-ke/huduma/providers/daraja"
)

// scrape reads /metrics and parses it.
func (p *payEnv) scrape() map[string]*dto.MetricFamily {
	p.t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		p.t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		p.t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample is the value of the series of family name whose labels include
// want, summed over the rest (-1e9 when there is none); a histogram gives
// its count.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1e9
	}
	total, found := 0.0, false
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	if !found {
		return -1e9
	}
	return total
}

// longDigits is a run of digits as long as a phone or invoice number.
var longDigits = regexp.MustCompile(`[0-9]{9,}`)

// TestMetricsEndToEnd: a USSD journey to an invoice, paid by an STK push
// (the fake Daraja's result callback), its receipt texted, and one
// callback with a bad token; the scrape then shows each step in the
// issue #16 series, and no label anywhere carries a phone or invoice
// number.
func TestMetricsEndToEnd(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["FAKESMS"] = "on"
			p := newPayEnv(t, env)
			const payer = "+254708374100" // ends 00: the fake pays
			n, _ := p.order(payer)
			p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
			// The receipt reaches the SMS provider (the outbox records it
			// sent).
			deadline := time.Now().Add(10 * time.Second)
			for {
				sent := false
				msgs, _ := p.g.store.Messages(t.Context(), huduma.MSISDN(payer), 20)
				for _, m := range msgs {
					if m.Kind == huduma.MessageReceipt && m.Status == huduma.MsgSent {
						sent = true
					}
				}
				if sent {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the receipt was not sent: %+v", msgs)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code, _ := p.post(daraja.STKCallbackPath+"?token=wrong", []byte(`{}`)); code != http.StatusForbidden {
				t.Fatalf("bad-token callback: %d", code)
			}
			// A reversal result for no refund of ours, twice: acknowledged
			// (Daraja must stop sending it) and counted as unknown both times.
			stray := []byte(`{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"done","OriginatorConversationID":"stray-1","ConversationID":"AG_stray","TransactionID":"RX00000001"}}`)
			for range 2 {
				if code, body := p.post(daraja.ReversalResultPath+"?token="+testToken, stray); code != http.StatusOK {
					t.Fatalf("stray reversal result: %d %s", code, body)
				}
			}

			fams := p.scrape()
			checks := []struct {
				name   string
				labels map[string]string
				min    float64
			}{
				{"huduma_ussd_hops_total", map[string]string{"provider": "africastalking", "outcome": "end"}, 1},
				{"huduma_ussd_hops_total", map[string]string{"provider": "africastalking", "outcome": "ok"}, 5},
				{"huduma_stk_pushes_total", map[string]string{"outcome": "accepted"}, 1},
				{"huduma_stk_results_total", map[string]string{"class": "success"}, 1},
				{"huduma_callbacks_total", map[string]string{"route": "stk", "outcome": "accepted", "reason": "ok"}, 1},
				{"huduma_callbacks_total", map[string]string{"route": "stk", "outcome": "rejected", "reason": "unauthorized"}, 1},
				{"huduma_invoices_total", map[string]string{"event": "created"}, 1},
				{"huduma_invoices_total", map[string]string{"event": "paid"}, 1},
				{"huduma_invoice_paid_seconds", nil, 1},
				{"huduma_c2b_payments_total", map[string]string{"outcome": "applied"}, 1},
				{"huduma_sms_total", map[string]string{"provider": "fakesms", "kind": "receipt", "event": "queued"}, 1},
				{"huduma_sms_total", map[string]string{"provider": "fakesms", "kind": "receipt", "event": "sent"}, 1},
				{"huduma_sms_total", map[string]string{"provider": "fakesms", "kind": "invoice", "event": "queued"}, 1},
				{"huduma_outbox_depth", nil, 0},
				{"huduma_outbox_oldest_seconds", nil, 0},
				{"huduma_jobs_depth", map[string]string{"kind": "stk_push"}, 0},
				{"huduma_jobs_lag_seconds", map[string]string{"kind": "stk_push"}, 0},
				{"huduma_jobs_depth", map[string]string{"kind": "stk_query"}, 0},
				{"huduma_breaker_state", map[string]string{"provider": "daraja"}, 0},
				{"huduma_breaker_state", map[string]string{"provider": "fakesms"}, 0},
				{"huduma_ussd_active_sessions", nil, 0},
			}
			for _, c := range checks {
				if got := sample(fams, c.name, c.labels); got < c.min {
					t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
				}
			}
			// Exact where the journey fixes the number.
			for _, c := range []struct {
				name   string
				labels map[string]string
				want   float64
			}{
				{"huduma_invoices_total", map[string]string{"event": "created"}, 1},
				{"huduma_invoices_total", map[string]string{"event": "paid"}, 1},
				{"huduma_invoice_paid_seconds", nil, 1},
				{"huduma_stk_pushes_total", map[string]string{"outcome": "accepted"}, 1},
				{"huduma_stk_results_total", map[string]string{"class": "success"}, 1},
				{"huduma_c2b_payments_total", map[string]string{"outcome": "applied"}, 1},
				{"huduma_breaker_state", map[string]string{"provider": "daraja"}, 0},
				{"huduma_sms_total", map[string]string{"kind": "receipt", "event": "queued"}, 1},
				{"huduma_callbacks_total", map[string]string{"route": "reversal", "outcome": "accepted", "reason": "unknown"}, 2},
			} {
				if got := sample(fams, c.name, c.labels); got != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}
			if got := sample(fams, "huduma_callbacks_total", map[string]string{"route": "reversal", "reason": "ok"}); got > 0 {
				t.Errorf("stray reversal results counted as ok: %v", got)
			}
			// The funnel names the screens reached.
			screens := map[string]bool{}
			for _, m := range fams["huduma_ussd_hops_total"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "screen" {
						screens[l.GetValue()] = true
					}
				}
			}
			if len(screens) < 4 {
				t.Errorf("hops name %d screens (%v), want the journey's", len(screens), screens)
			}
			for fname, f := range fams {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if longDigits.MatchString(l.GetValue()) {
							t.Errorf("%s label %s=%q carries a long number", fname, l.GetName(), l.GetValue())
						}
					}
				}
			}
			if t.Failed() {
				var b strings.Builder
				for fname := range fams {
					if strings.HasPrefix(fname, "huduma_") {
						fmt.Fprintln(&b, fname)
					}
				}
				t.Logf("huduma families scraped:\n%s", b.String())
			}
		})
	}
}
