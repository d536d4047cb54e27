// Command preview draws the Grafana dashboard (ops/grafana/huduma.json)
// from a Prometheus's data as a static page of SVG charts and screenshots
// it with headless Chromium, for docs/operations.md (docs/dashboard.png):
//
//	go run ./ops/preview -prometheus http://127.0.0.1:9090 -range 1h -out docs/dashboard.png
//
// `make dashboard` runs it inside cmd/huduma's TestDashboardAgainstPrometheus,
// against a Prometheus that scraped a short journey-and-payment run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/huduma-ke/huduma/internal/promapi"
	"github.com/huduma-ke/huduma/ops"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "preview:", err)
		os.Exit(1)
	}
}

func run() error {
	prom := flag.String("prometheus", "http://127.0.0.1:9090", "Prometheus base URL")
	file := flag.String("dashboard", "", "dashboard JSON (default: the shipped ops/grafana/huduma.json)")
	rng := flag.Duration("range", time.Hour, "time range to draw, ending now")
	window := flag.Duration("window", 0, "what $__rate_interval becomes (default 4 steps)")
	out := flag.String("out", "docs/dashboard.png", "PNG to write")
	html := flag.String("html", "", "also write the HTML page here")
	chromium := flag.String("chromium", "chromium", "headless Chromium to screenshot with")
	width := flag.Int("width", 1600, "page width in pixels")
	flag.Parse()

	raw := ops.DashboardJSON()
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		raw = b
	}
	d, err := ops.ParseDashboard(raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	end := time.Now()
	page, err := ops.RenderPreview(ctx, &promapi.Client{URL: *prom}, d, ops.PreviewOptions{Start: end.Add(-*rng), End: end, Window: *window, Width: *width})
	if err != nil {
		return err
	}
	if *html != "" {
		if err := os.WriteFile(*html, page, 0o644); err != nil {
			return err
		}
	}
	exe, err := exec.LookPath(*chromium)
	if err != nil {
		return fmt.Errorf("no Chromium to screenshot with (apt install chromium): %w", err)
	}
	if err := ops.Screenshot(ctx, exe, page, *width, ops.PageHeight(d), *out); err != nil {
		return err
	}
	fmt.Println("wrote", *out)
	return nil
}
