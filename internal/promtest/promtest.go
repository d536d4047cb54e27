// Package promtest runs a real Prometheus server for tests: Debian's
// prometheus binary on a free loopback port, with a temporary config and
// TSDB directory, scraping the targets a test gives it every second. It
// stops when the test ends. Without the binary the test skips loudly
// (fails under CI), like the other integration tests.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base address, e.g. http://127.0.0.1:40123.
	URL string

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// syncBuffer collects the server's output; the process writes it from
// its own goroutines while a failing test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Logs returns what the server printed so far (for failure messages).
func (s *Server) Logs() string { return s.logs.String() }

// Binary returns the prometheus executable ($PROMETHEUS or on PATH), or
// stops the test through testenv.Missing.
func Binary(t testing.TB) string {
	t.Helper()
	name := os.Getenv("PROMETHEUS")
	if name == "" {
		name = "prometheus"
	}
	exe, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "prometheus not found (apt-get install prometheus, or set PROMETHEUS)")
	}
	return exe
}

// Start runs Prometheus scraping targets (host:port, path /metrics) every
// second under job "huduma", and returns once it answers /-/ready.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	exe := Binary(t)
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: huduma
    metrics_path: /metrics
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := &Server{URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(exe,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=1h",
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("prometheus exited before it was ready (%v):\n%s", err, s.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready after 30 s:\n%s", addr, s.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Sample is one series of a query result: its labels and its points (one
// for an instant query).
type Sample struct {
	Metric map[string]string
	Points []Point
}

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Last is the series' latest value (NaN-free results only; 0 when none).
func (s Sample) Last() float64 {
	if len(s.Points) == 0 {
		return 0
	}
	return s.Points[len(s.Points)-1].V
}

// Query evaluates expr at time at (now when zero) and returns the
// vector's series; a scalar comes back as one series without labels.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", formatTime(at))
	}
	return s.api(ctx, "/api/v1/query", q)
}

// QueryRange evaluates expr from start to end every step.
func (s *Server) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Sample, error) {
	q := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return s.api(ctx, "/api/v1/query_range", q)
}

// WaitScraped polls until every target has been scraped successfully at
// least once (up == 1), or within runs out.
func (s *Server) WaitScraped(ctx context.Context, targets []string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		res, err := s.Query(ctx, `up{job="huduma"} == 1`, time.Time{})
		if err == nil {
			up := map[string]bool{}
			for _, r := range res {
				up[r.Metric["instance"]] = true
			}
			missing := 0
			for _, tg := range targets {
				if !up[tg] {
					missing++
				}
			}
			if missing == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("targets %v not all up after %s (last error %v)", targets, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// apiResponse is Prometheus's HTTP API envelope.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

func (s *Server) api(ctx context.Context, path string, q url.Values) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, strings.NewReader(q.Encode()))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("prometheus %s: status %d: %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus %s %q: %s: %s", path, q.Get("query"), r.ErrorType, r.Error)
	}
	return decodeResult(r.Data.ResultType, r.Data.Result)
}

// rawPoint is Prometheus's [unix seconds, "value"] pair.
type rawPoint [2]any

func (p rawPoint) point() (Point, error) {
	ts, ok := p[0].(float64)
	if !ok {
		return Point{}, fmt.Errorf("prometheus: time %v is not a number", p[0])
	}
	vs, ok := p[1].(string)
	if !ok {
		return Point{}, fmt.Errorf("prometheus: value %v is not a string", p[1])
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return Point{}, fmt.Errorf("prometheus: value %q: %w", vs, err)
	}
	return Point{T: time.UnixMilli(int64(ts * 1000)), V: v}, nil
}

func decodeResult(kind string, raw json.RawMessage) ([]Sample, error) {
	switch kind {
	case "vector":
		var rs []struct {
			Metric map[string]string `json:"metric"`
			Value  rawPoint          `json:"value"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("prometheus vector: %w", err)
		}
		out := make([]Sample, 0, len(rs))
		for _, r := range rs {
			p, err := r.Value.point()
			if err != nil {
				return nil, err
			}
			out = append(out, Sample{Metric: r.Metric, Points: []Point{p}})
		}
		return out, nil
	case "matrix":
		var rs []struct {
			Metric map[string]string `json:"metric"`
			Values []rawPoint        `json:"values"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("prometheus matrix: %w", err)
		}
		out := make([]Sample, 0, len(rs))
		for _, r := range rs {
			s := Sample{Metric: r.Metric}
			for _, v := range r.Values {
				p, err := v.point()
				if err != nil {
					return nil, err
				}
				s.Points = append(s.Points, p)
			}
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var v rawPoint
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("prometheus scalar: %w", err)
		}
		p, err := v.point()
		if err != nil {
			return nil, err
		}
		return []Sample{{Metric: map[string]string{}, Points: []Point{p}}}, nil
	default:
		return nil, fmt.Errorf("prometheus: result type %q not handled", kind)
	}
}
