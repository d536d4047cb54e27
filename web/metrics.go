package web

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the gateway's Prometheus series, on a registry of their own
// (never the global one, so tests and several servers don't collide).
type metrics struct {
	reg     *prometheus.Registry
	hops    *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newMetrics(active ActiveCounter) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		hops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huduma_ussd_hops_total",
			Help: "USSD hops by provider, screen shown and outcome (ok, end, invalid_request, error).",
		}, []string{"provider", "screen", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "huduma_ussd_hop_seconds",
			Help:    "Time to answer a USSD hop.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
		}, []string{"provider"}),
	}
	m.reg.MustRegister(m.hops, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if active != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "huduma_ussd_active_sessions",
			Help: "USSD sessions not yet expired.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := active.Active(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}

func (m *metrics) hop(provider, screen, outcome string, took time.Duration) {
	m.hops.WithLabelValues(provider, screen, outcome).Inc()
	m.latency.WithLabelValues(provider).Observe(took.Seconds())
}
