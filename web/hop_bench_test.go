//go:build unix

package web

import (
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/metrics"
)

// BenchmarkHopEdge measures the edge's own work around one USSD hop: an
// Africa's Talking POST driven through the real fiber app by fasthttp's
// in-memory handler (no socket, no app.Test), with the callback token,
// the rate cap and the metrics on, and a HopHandler that answers a fixed
// screen at once, so everything measured is the edge's (issue 23).
func BenchmarkHopEdge(b *testing.B) {
	s := New(Config{CallbackToken: token, HopsPerMinute: 1e12, HopBurst: 1 << 30},
		Deps{Hops: &fakeHops{reply: huduma.Reply{Text: "eCitizen *2222#\n1. Find a service\n2. My invoices", Screen: "main", Lang: huduma.English}},
			Events: &fakeEvents{}, Metrics: metrics.New(metrics.Options{})},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := s.App().Handler()
	body := []byte("sessionId=ATUid_0f1e2d3c4b5a69788796a5b4c3d2e1f0&serviceCode=%2A2222%23&phoneNumber=%2B254712345678&networkCode=63902&text=1%2A2")
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, addr, nil)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		// A fresh request each time, as a new one off the wire would be
		// (fasthttp caches what it parsed in the request).
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/ussd/africastalking?token=" + token)
		ctx.Request.Header.SetHost("huduma.example.go.ke")
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.Header.SetUserAgent("AfricasTalking/USSD")
		ctx.Request.Header.Set("Accept", "*/*")
		ctx.Request.Header.Set("Accept-Encoding", "gzip")
		ctx.Request.Header.Set("X-Forwarded-For", "52.48.80.1")
		ctx.Request.SetBody(body)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()[:4]) != "CON " {
			b.Fatalf("hop answered %d %q", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	// The process's CPU time per hop: what issue 23 is about, and steadier
	// than ns/op on a machine that is busy with other work, since time
	// spent waiting for a core is not counted. It includes the hop
	// workers' goroutines and the garbage collector.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
