package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/fakesms"
	"github.com/huduma-ke/huduma/internal/promtest"
	"github.com/huduma-ke/huduma/ops"
)

// moving are the series a journey-and-payment run must move, each as a
// sum the test reads before and after the run. Before minus after rather
// than increase(): Prometheus's increase() does not count a series born
// during the window (the first STK push creates its outcome's series).
var moving = []string{
	`sum(huduma_ussd_hops_total)`,
	`sum(huduma_ussd_hop_seconds_count)`,
	`sum(huduma_stk_pushes_total{outcome="accepted"})`,
	`sum(huduma_stk_results_total{class="success"})`,
	`sum(huduma_invoices_total{event="created"})`,
	`sum(huduma_invoices_total{event="paid"})`,
	`sum(huduma_invoice_paid_seconds_count)`,
	`sum(huduma_callbacks_total{route="stk",outcome="accepted"})`,
	`sum(huduma_c2b_payments_total{outcome="applied"})`,
	`sum(huduma_sms_total{event="sent"})`,
	`sum(huduma_sms_total{event="delivered"})`,
}

// TestDashboardAgainstPrometheus: a real Prometheus scrapes a gateway
// every second while USSD journeys order invoices that are paid by STK
// push and by paybill and whose texts are delivered; then every series
// the dashboard draws exists, the main ones moved, and every panel's
// query is one Prometheus accepts. With HUDUMA_DASHBOARD_PNG set it also
// draws the dashboard from that run to the PNG (`make dashboard`).
func TestDashboardAgainstPrometheus(t *testing.T) {
	promtest.Binary(t)
	d, err := ops.LoadDashboard()
	if err != nil {
		t.Fatal(err)
	}
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "FAKESMS": "on"})
	target := strings.TrimPrefix(p.base, "http://")
	prom := promtest.Start(t, target)
	ctx := context.Background()
	if err := prom.WaitScraped(ctx, []string{target}, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, prom.Logs())
	}
	read := func(expr string) float64 {
		t.Helper()
		res, err := prom.Query(ctx, expr, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 {
			return 0 // no series yet
		}
		return res[0].Last()
	}
	before := map[string]float64{}
	for _, e := range moving {
		before[e] = read(e)
	}
	start := time.Now()

	// The run, in rounds that each wait for Prometheus to have scraped
	// them, so the rates move over time rather than all at once: in each
	// a caller browses and orders; the prompt is paid (phone ending 00),
	// cancelled (01: later paid at the paybill) or never answered (04:
	// the status query settles it). A callback with a wrong token too.
	hops := before[`sum(huduma_ussd_hops_total)`]
	var paid []huduma.InvoiceNumber
	var nc huduma.InvoiceNumber
	for i, suffix := range []string{"00", "00", "01", "00", "04", "00"} {
		phone := fmt.Sprintf("+254708375%d%s", i, suffix)
		p.dial(phone, "1", "1", "birth")
		n, _ := p.order(phone)
		if suffix == "01" {
			nc = n
		} else {
			paid = append(paid, n)
		}
		hops += 4 + 8
		for deadline := time.Now().Add(10 * time.Second); read(`sum(huduma_ussd_hops_total)`) < hops; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: Prometheus has not scraped %v hops within 10 s", i, hops)
			}
		}
	}
	for _, n := range paid {
		p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
	}
	p.waitStatus(nc, huduma.InvoiceCancelled, 10*time.Second)
	if code, _ := p.post("/payments/stk/callback?token=wrong", []byte(`{}`)); code != 403 {
		t.Fatalf("callback with a wrong token: %d, want 403", code)
	}
	if code, _ := p.post("/payments/c2b/confirmation?token="+testToken, []byte(fmt.Sprintf(`{"TransactionType":"Pay Bill","TransID":"RKTQDM7W9Z",
		"TransTime":"20261122103000","TransAmount":"4600","BusinessShortCode":"174379","BillRefNumber":%q,"MSISDN":"2547 ***** 126","FirstName":"Jane"}`, nc))); code != 200 {
		t.Fatalf("c2b confirmation: %d", code)
	}
	p.waitStatus(nc, huduma.InvoicePaid, 10*time.Second)
	delivered := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(delivered) < len(paid)+1; time.Sleep(50 * time.Millisecond) {
		for _, s := range fakesms.Messages() {
			for _, n := range append(paid, nc) {
				if strings.Contains(s.Text, string(n)) && !delivered[s.ID] {
					if code, _ := p.postForm(fakesms.DeliveryPath+"?token="+testToken, url.Values{"id": {s.ID}, "state": {"delivered"}}); code != 200 {
						t.Fatalf("delivery report: %d", code)
					}
					delivered[s.ID] = true
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the invoices' texts reached the SMS provider within 10 s", len(delivered))
		}
	}

	// Every main series moved (polled: the next scrape brings the last
	// of the run in within a second or two).
	var still []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		still = still[:0]
		for _, e := range moving {
			if read(e) <= before[e] {
				still = append(still, e)
			}
		}
		if len(still) == 0 || time.Now().After(deadline) {
			break
		}
	}
	// Every series the dashboard uses exists.
	hist := map[string]bool{}
	for _, m := range ops.Metrics() {
		hist[m.Name] = m.Type == "histogram"
	}
	var missing []string
	for _, name := range d.MetricNames() {
		q := name
		if hist[name] {
			q = name + "_count"
		}
		if res, err := prom.Query(ctx, q, time.Time{}); err != nil {
			t.Fatal(err)
		} else if len(res) == 0 {
			missing = append(missing, name)
		}
	}
	// Every panel's query, as Grafana would send it, is valid PromQL.
	for _, pn := range d.Charts() {
		for _, tg := range pn.Targets {
			if _, err := prom.Query(ctx, ops.Expand(tg.Expr, 5*time.Second, time.Since(start)), time.Time{}); err != nil {
				t.Errorf("panel %q query %s: %v", pn.Title, tg.RefID, err)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of the dashboard's %d series are not on the gateway's /metrics: %s", len(missing), len(d.MetricNames()), strings.Join(missing, ", "))
	}
	if len(still) > 0 {
		t.Errorf("%d series did not move during the run: %s", len(still), strings.Join(still, ", "))
	}

	if out := os.Getenv("HUDUMA_DASHBOARD_PNG"); out != "" {
		if !filepath.IsAbs(out) {
			out = filepath.Join("..", "..", out) // relative to the repository, as make runs it
		}
		page, err := ops.RenderPreview(ctx, &prom.Client, d, ops.PreviewOptions{Start: start.Add(-5 * time.Second), End: time.Now(),
			Step: time.Second, Window: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := ops.Screenshot(ctx, chromium(t), page, 1600, ops.PageHeight(d), out); err != nil {
			t.Fatal(err)
		}
		t.Logf("dashboard preview: %s", out)
	}
}
