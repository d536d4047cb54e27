// Package promtest runs a real Prometheus server for tests: Debian's
// prometheus binary on a free loopback port, with a temporary config and
// TSDB directory, scraping the targets a test gives it every second. It
// stops when the test ends. Without the binary the test skips loudly
// (fails under CI), like the other integration tests.
package promtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/promapi"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// Server is a running Prometheus.
type Server struct {
	// Client queries the server; its URL is the server's base address.
	promapi.Client

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
	addr := testenv.FreeAddr(t)
	s := &Server{Client: promapi.Client{URL: "http://" + addr}, logs: &syncBuffer{}, done: make(chan error, 1)}
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
