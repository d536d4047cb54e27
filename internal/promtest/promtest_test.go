package promtest

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/promapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestScrapeAndQuery: a real Prometheus scrapes a target, and Query and
// QueryRange read back the counter it serves as it moves.
func TestScrapeAndQuery(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "promtest_things_total", Help: "things"}, []string{"kind"})
	reg.MustRegister(c)
	c.WithLabelValues("a").Add(3)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")

	p := Start(t, target)
	ctx := context.Background()
	if err := p.WaitScraped(ctx, []string{target}, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.Logs())
	}
	start := time.Now()
	c.WithLabelValues("a").Add(4)
	var got []promapi.Sample
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		got, err = p.Query(ctx, `promtest_things_total{kind="a"}`, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Last() == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counter never read 7 through Prometheus: %+v", got)
		}
	}
	if got[0].Metric["job"] != "huduma" || got[0].Metric["instance"] != target {
		t.Fatalf("labels %v", got[0].Metric)
	}
	rng, err := p.QueryRange(ctx, `promtest_things_total`, start.Add(-3*time.Second), time.Now().Add(time.Second), 100*time.Millisecond) // past the last scrape
	if err != nil {
		t.Fatal(err)
	}
	if len(rng) != 1 || len(rng[0].Points) < 2 || rng[0].Points[0].V != 3 || rng[0].Last() != 7 {
		t.Fatalf("range %+v, want points from 3 to 7", rng)
	}
	if _, err := p.Query(ctx, `sum(`, time.Time{}); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Fatalf("a bad query: %v, want the server's bad_data error", err)
	}
	if s, err := p.Query(ctx, `scalar(vector(2))`, time.Time{}); err != nil || len(s) != 1 || s[0].Last() != 2 {
		t.Fatalf("scalar: %+v %v", s, err)
	}
}
