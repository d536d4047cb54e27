package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// healthCommand asks a running gateway's /readyz whether it is ready:
// the image's HEALTHCHECK (the distroless base has no curl). It exits 0
// when ready, and with an error naming the backends down, or why the
// gateway could not be asked, when not. It reads only HUDUMA_ADDR, so a
// check never fails on configuration the gateway itself accepted.
func healthCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("url", "", "the gateway's base URL (default: http://127.0.0.1 and the port of $HUDUMA_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return fmt.Errorf("usage: huduma health [--url URL] [--timeout 3s]")
	}
	if *base == "" {
		u, err := localURL(getenv("HUDUMA_ADDR"))
		if err != nil {
			return err
		}
		*base = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*base, "/")+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: gateway at %s unreachable: %w", *base, err)
	}
	defer resp.Body.Close()
	var ready struct {
		Ready     bool              `json:"ready"`
		Checks    map[string]string `json:"checks"`
		Simulated []string          `json:"simulated"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ready); err != nil {
		return fmt.Errorf("health: %s/readyz answered %d, not a readiness report: %w", *base, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || !ready.Ready {
		var down []string
		for name, state := range ready.Checks {
			if state != "ok" {
				down = append(down, name+" "+state)
			}
		}
		sort.Strings(down)
		return fmt.Errorf("health: not ready (%d): %s", resp.StatusCode, strings.Join(down, ", "))
	}
	fmt.Fprint(stdout, "ready")
	if len(ready.Simulated) > 0 {
		fmt.Fprintf(stdout, " (simulated: %s)", strings.Join(ready.Simulated, ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}

// localURL is the URL this host reaches a gateway listening on addr by:
// a wildcard or missing host is reached on loopback.
func localURL(addr string) (string, error) {
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("health: HUDUMA_ADDR: want host:port or :port, got %q", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
