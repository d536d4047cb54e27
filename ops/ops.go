// Package ops holds what operators load next to the gateway: the Grafana
// dashboard (grafana/huduma.json), the Prometheus alert rules
// (prometheus/alerts.yml and their promtool tests) and the list of the
// gateway's metric names both may use (metrics.txt). The files are
// embedded so the tests and the dashboard preview read exactly what is
// shipped.
package ops

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

//go:embed metrics.txt
var metricsTxt []byte

//go:embed grafana/huduma.json
var dashboardJSON []byte

//go:embed prometheus/alerts.yml
var alertsYAML []byte

// DashboardJSON is the Grafana dashboard as shipped.
func DashboardJSON() []byte { return bytes.Clone(dashboardJSON) }

// AlertsYAML is the Prometheus rule file as shipped.
func AlertsYAML() []byte { return bytes.Clone(alertsYAML) }

// Metric is one series family the gateway exposes.
type Metric struct {
	Name   string   // e.g. huduma_stk_pushes_total
	Type   string   // counter, gauge or histogram
	Labels []string // the label names, a closed set each
}

// Metrics returns the contract's series, in metrics.txt's order.
func Metrics() []Metric {
	var out []Metric
	sc := bufio.NewScanner(bytes.NewReader(metricsTxt))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		m := Metric{Name: f[0]}
		if len(f) > 1 {
			m.Type = f[1]
		}
		if len(f) > 2 {
			m.Labels = f[2:]
		}
		out = append(out, m)
	}
	return out
}

// metricRE finds the gateway's series in a PromQL expression. Every
// gateway series starts huduma_, and nothing else in our queries does, so
// a pattern is enough and keeps the Prometheus parser (a large module)
// out of the build.
var metricRE = regexp.MustCompile(`\bhuduma_[a-z0-9_]+`)

// MetricNames returns the family names an expression uses, sorted: a
// histogram's _bucket, _sum and _count series count as the histogram.
// Names that are neither in metrics.txt nor a histogram's series come
// back as written, so a check against Metrics reports them.
func MetricNames(expr string) []string {
	hist := map[string]bool{}
	for _, m := range Metrics() {
		if m.Type == "histogram" {
			hist[m.Name] = true
		}
	}
	seen := map[string]bool{}
	for _, n := range metricRE.FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(n, suffix); base != n && hist[base] {
				n = base
				break
			}
		}
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Dashboard is the part of a Grafana dashboard model the tests and the
// preview read.
type Dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Inputs []Input `json:"__inputs"`
	Panels []Panel `json:"panels"`
}

// Input is an import-time input (the data source a user picks).
type Input struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
}

// Panel is one panel or row of the dashboard.
type Panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"` // row, timeseries, bargauge, stat
	Title      string          `json:"title"`
	GridPos    GridPos         `json:"gridPos"`
	Datasource *Datasource     `json:"datasource,omitempty"`
	Targets    []Target        `json:"targets"`
	FieldCfg   json.RawMessage `json:"fieldConfig,omitempty"`
	Unit       string          `json:"-"` // fieldConfig.defaults.unit, filled by ParseDashboard
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Datasource names the data source a panel or target queries.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
	Instant      bool        `json:"instant"`
	RefID        string      `json:"refId"`
	Datasource   *Datasource `json:"datasource,omitempty"`
}

// ParseDashboard reads a dashboard model.
func ParseDashboard(b []byte) (Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return Dashboard{}, fmt.Errorf("dashboard: %w", err)
	}
	for i := range d.Panels {
		var fc struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		}
		if len(d.Panels[i].FieldCfg) > 0 {
			if err := json.Unmarshal(d.Panels[i].FieldCfg, &fc); err != nil {
				return Dashboard{}, fmt.Errorf("dashboard: panel %q fieldConfig: %w", d.Panels[i].Title, err)
			}
		}
		d.Panels[i].Unit = fc.Defaults.Unit
	}
	return d, nil
}

// LoadDashboard parses the shipped dashboard.
func LoadDashboard() (Dashboard, error) { return ParseDashboard(dashboardJSON) }

// Charts are the dashboard's panels that draw data (not rows).
func (d Dashboard) Charts() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		if p.Type != "row" {
			out = append(out, p)
		}
	}
	return out
}

// MetricNames is every gateway series the dashboard's queries use, sorted.
func (d Dashboard) MetricNames() []string {
	var all []string
	for _, p := range d.Charts() {
		for _, t := range p.Targets {
			all = append(all, t.Expr)
		}
	}
	return MetricNames(strings.Join(all, "\n"))
}

// Expand turns a panel query into plain PromQL the way Grafana would for
// one instance selector: $__rate_interval and $__interval become window,
// $__range becomes rng, and $instance matches every instance.
func Expand(expr string, window, rng time.Duration) string {
	r := strings.NewReplacer(
		"$__rate_interval", promDuration(window),
		"$__interval", promDuration(window),
		"$__range", promDuration(rng),
		`"$instance"`, `".+"`,
	)
	return r.Replace(expr)
}

// promDuration writes d as a PromQL duration in whole seconds (at least 1s).
func promDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprintf("%ds", s)
}
