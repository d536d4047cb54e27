package ops

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// The contract's alerts and the severity each must carry.
var wantAlerts = map[string]string{
	"HudumaCallbacksFailing":   "page",
	"HudumaOutboxBackingUp":    "page",
	"HudumaSTKSuccessDropping": "page",
	"HudumaBreakerOpen":        "page",
	"HudumaHopP99OverBudget":   "ticket",
	"HudumaJobsLagging":        "page",
}

func promtool(t *testing.T) string {
	t.Helper()
	exe, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Missing(t, "promtool not found (apt-get install prometheus)")
	}
	return exe
}

// TestAlertRules: promtool accepts the rule file and every unit test in
// alerts_test.yml passes (each alert fires on one series and stays quiet
// on another).
func TestAlertRules(t *testing.T) {
	exe := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(exe, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

var alertRE = regexp.MustCompile(`(?m)^\s*- alert: (\w+)\s*$`)

// TestAlertsAreTheContracts: the six alerts, each with its severity, a
// for duration, a summary and a description naming its runbook
// line, each with a test that fires it and one that keeps it quiet.
func TestAlertsAreTheContracts(t *testing.T) {
	src := string(AlertsYAML())
	locs := alertRE.FindAllStringSubmatchIndex(src, -1)
	got := map[string]string{}
	for i, l := range locs {
		name := src[l[2]:l[3]]
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		block := src[l[1]:end]
		if _, dup := got[name]; dup {
			t.Errorf("alert %s defined twice", name)
		}
		m := regexp.MustCompile(`severity: (\w+)`).FindStringSubmatch(block)
		if m == nil {
			t.Errorf("%s: no severity label", name)
			got[name] = ""
			continue
		}
		got[name] = m[1]
		for _, want := range []string{"for: ", "summary: ", "description: ", "Runbook: docs/operations.md, Dashboard and alerts, " + name + "."} {
			if !strings.Contains(block, want) {
				t.Errorf("%s: missing %q", name, want)
			}
		}
	}
	for name, sev := range wantAlerts {
		if g, ok := got[name]; !ok {
			t.Errorf("alert %s missing from alerts.yml", name)
		} else if g != sev {
			t.Errorf("alert %s: severity %q, want %q", name, g, sev)
		}
	}
	for name := range got {
		if _, ok := wantAlerts[name]; !ok {
			t.Errorf("alert %s is not in the contract (add it to wantAlerts and docs/operations.md)", name)
		}
	}
	tests, err := os.ReadFile("prometheus/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	// Each alert is evaluated at least twice: once expecting it, once not.
	for name := range wantAlerts {
		fires, quiet := false, false
		for _, block := range strings.Split(string(tests), "alertname: "+name+"\n")[1:] {
			next := strings.TrimSpace(block)
			if strings.HasPrefix(next, "exp_alerts: []") {
				quiet = true
			} else if strings.HasPrefix(next, "exp_alerts:") {
				fires = true
			}
		}
		if !fires || !quiet {
			t.Errorf("alerts_test.yml: %s has a firing test %v, a quiet test %v; want both", name, fires, quiet)
		}
	}
}

// TestMetricNamesAreTheContracts: the dashboard and the alert rules use
// only series in metrics.txt, and the dashboard shows every one of them.
func TestMetricNamesAreTheContracts(t *testing.T) {
	known := map[string]bool{}
	for _, m := range Metrics() {
		if known[m.Name] {
			t.Errorf("metrics.txt lists %s twice", m.Name)
		}
		known[m.Name] = true
		if !slices.Contains([]string{"counter", "gauge", "histogram"}, m.Type) {
			t.Errorf("metrics.txt: %s has type %q", m.Name, m.Type)
		}
		if m.Type == "counter" && !strings.HasSuffix(m.Name, "_total") {
			t.Errorf("metrics.txt: counter %s does not end in _total", m.Name)
		}
	}
	if len(known) != 20 {
		t.Errorf("metrics.txt lists %d series, the contract 20", len(known))
	}
	d, err := LoadDashboard()
	if err != nil {
		t.Fatal(err)
	}
	for what, names := range map[string][]string{"dashboard": d.MetricNames(), "alerts.yml": MetricNames(string(AlertsYAML()))} {
		for _, n := range names {
			if !known[n] {
				t.Errorf("%s uses %s, which is not in ops/metrics.txt", what, n)
			}
		}
	}
	used := map[string]bool{}
	for _, n := range d.MetricNames() {
		used[n] = true
	}
	for _, m := range Metrics() {
		if !used[m.Name] {
			t.Errorf("the dashboard shows nothing of %s", m.Name)
		}
	}
}

// TestMetricNames: the name extraction the checks above rely on.
func TestMetricNames(t *testing.T) {
	got := MetricNames(`histogram_quantile(0.99, sum by (le) (rate(huduma_ussd_hop_seconds_bucket[5m]))) / huduma_ussd_hop_seconds_count
		+ huduma_made_up_bucket + on() huduma_stk_pushes_total{outcome="error"}`)
	want := []string{"huduma_made_up_bucket", "huduma_stk_pushes_total", "huduma_ussd_hop_seconds"}
	if !slices.Equal(got, want) {
		t.Fatalf("MetricNames = %v, want %v", got, want)
	}
}

// TestDashboard: the JSON imports into Grafana as is: one data source
// input that every panel and query uses, unique panel ids, every panel
// inside the 24-column grid and with at least one query.
func TestDashboard(t *testing.T) {
	d, err := LoadDashboard()
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q", d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want the one DS_PROMETHEUS Prometheus data source", d.Inputs)
	}
	const ds = "${DS_PROMETHEUS}"
	ids := map[int]bool{}
	var rows []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the grid", p.Title, g)
		}
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Datasource == nil || p.Datasource.UID != ds {
			t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, ds)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q: query %s is empty", p.Title, q.RefID)
			}
			if q.Datasource == nil || q.Datasource.UID != ds {
				t.Errorf("panel %q query %s: datasource %+v, want uid %s", p.Title, q.RefID, q.Datasource, ds)
			}
			if len(MetricNames(q.Expr)) == 0 {
				t.Errorf("panel %q query %s reads no gateway series: %s", p.Title, q.RefID, q.Expr)
			}
		}
	}
	if want := []string{"USSD", "Payments", "SMS", "Queues and dependencies"}; !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
}

// metricRow is a row of docs/operations.md's metrics table: its first cell
// a metric name in backticks (labels may follow in braces).
var metricRow = regexp.MustCompile("(?m)^\\|\\s*`(huduma_[a-z0-9_]+)[`{]")

// TestMetricsTableIsTheList: docs/operations.md's metrics table names
// exactly the series in metrics.txt.
func TestMetricsTableIsTheList(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var inDoc []string
	for _, m := range metricRow.FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(inDoc, m[1]) {
			inDoc = append(inDoc, m[1])
		}
	}
	if len(inDoc) == 0 {
		t.Fatal("docs/operations.md has no metrics table (rows starting | `huduma_…`)")
	}
	var inList []string
	for _, m := range Metrics() {
		inList = append(inList, m.Name)
	}
	sort.Strings(inDoc)
	sort.Strings(inList)
	for _, n := range inDoc {
		if !slices.Contains(inList, n) {
			t.Errorf("docs/operations.md's metrics table lists %s, ops/metrics.txt does not", n)
		}
	}
	for _, n := range inList {
		if !slices.Contains(inDoc, n) {
			t.Errorf("ops/metrics.txt lists %s, docs/operations.md's metrics table does not", n)
		}
	}
}
