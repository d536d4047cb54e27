package ops

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma/internal/promapi"
)

// Querier reads from a Prometheus (promapi.Client does). The preview
// asks it for each panel's data.
type Querier interface {
	Query(ctx context.Context, expr string, at time.Time) ([]promapi.Sample, error)
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]promapi.Sample, error)
}

// PreviewOptions is the time range a preview draws.
type PreviewOptions struct {
	Start, End time.Time
	Step       time.Duration // between points (0: a 120th of the range, at least 1 s)
	Window     time.Duration // what $__rate_interval becomes (0: 4 steps, at least 4 s)
	Width      int           // page width in pixels (0: 1600)
}

func (o *PreviewOptions) defaults() {
	if o.Step <= 0 {
		o.Step = max(o.End.Sub(o.Start)/120, time.Second)
	}
	if o.Window <= 0 {
		o.Window = max(4*o.Step, 4*time.Second)
	}
	if o.Width <= 0 {
		o.Width = 1600
	}
}

// Grafana's grid: 24 columns, 30 px a row unit.
const (
	gridCols  = 24
	gridRowPx = 30
	gutterPx  = 8
	headerPx  = 48 // the title line above the grid
)

// palette is Grafana's classic series colours.
var palette = []string{"#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
	"#508642", "#cca300", "#447ebc", "#c15c17"}

// maxSeries caps the lines one panel draws (the largest last values).
const maxSeries = 10

type previewPage struct {
	Title, Range string
	Width        int
	Height       int
	Boxes        []previewBox
}

type previewBox struct {
	Row               bool
	Title, Note, Unit string
	X, Y, W, H        int // pixels
	SVG               template.HTML
	Legend            []legendItem
}

type legendItem struct {
	Color, Name, Value string
}

// RenderPreview draws the dashboard's panels over opts' range as one
// static HTML page of SVG charts: no scripts, nothing fetched, so a
// headless browser can screenshot it for docs/operations.md. A query Prometheus
// refuses is an error (the dashboard would show it broken too).
func RenderPreview(ctx context.Context, q Querier, d Dashboard, opts PreviewOptions) ([]byte, error) {
	opts.defaults()
	colPx := float64(opts.Width) / gridCols
	page := previewPage{Title: d.Title, Width: opts.Width,
		Range: opts.Start.UTC().Format("2006-01-02 15:04:05") + " – " + opts.End.UTC().Format("15:04:05 UTC")}
	for _, p := range d.Panels {
		b := previewBox{Title: p.Title, Unit: p.Unit, Row: p.Type == "row",
			X: int(float64(p.GridPos.X)*colPx) + gutterPx/2, Y: p.GridPos.Y * gridRowPx,
			W: int(float64(p.GridPos.W)*colPx) - gutterPx, H: p.GridPos.H*gridRowPx - gutterPx}
		page.Height = max(page.Height, b.Y+b.H+gutterPx)
		if b.Row {
			page.Boxes = append(page.Boxes, b)
			continue
		}
		var err error
		if p.Type == "timeseries" {
			err = drawLines(ctx, q, p, opts, &b)
		} else {
			err = drawBars(ctx, q, p, opts, &b)
		}
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.Title, err)
		}
		page.Boxes = append(page.Boxes, b)
	}
	var out bytes.Buffer
	if err := previewTmpl.Execute(&out, page); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return out.Bytes(), nil
}

type line struct {
	name   string
	points []promapi.Point
	last   float64
}

func drawLines(ctx context.Context, q Querier, p Panel, opts PreviewOptions, b *previewBox) error {
	var lines []line
	for _, t := range p.Targets {
		res, err := q.QueryRange(ctx, Expand(t.Expr, opts.Window, opts.End.Sub(opts.Start)), opts.Start, opts.End, opts.Step)
		if err != nil {
			return err
		}
		for _, s := range res {
			l := line{name: legend(t.LegendFormat, s.Metric), last: math.NaN()}
			for _, pt := range s.Points {
				if !math.IsNaN(pt.V) && !math.IsInf(pt.V, 0) {
					l.points = append(l.points, pt)
					l.last = pt.V
				}
			}
			if len(l.points) > 0 {
				lines = append(lines, l)
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].last > lines[j].last })
	if len(lines) > maxSeries {
		b.Note = fmt.Sprintf("%d more series not drawn", len(lines)-maxSeries)
		lines = lines[:maxSeries]
	}
	w, h := float64(b.W-16), float64(b.H-34-legendPx(len(lines)))
	lo, hi := 0.0, 0.0
	for _, l := range lines {
		for _, pt := range l.points {
			lo, hi = math.Min(lo, pt.V), math.Max(hi, pt.V)
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	const left, bottom = 56.0, 16.0
	plotW, plotH := w-left-4, h-bottom-4
	t0, span := opts.Start, opts.End.Sub(opts.Start).Seconds()
	xOf := func(t time.Time) float64 { return left + plotW*t.Sub(t0).Seconds()/span }
	yOf := func(v float64) float64 { return 4 + plotH*(1-(v-lo)/(hi-lo)) }
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f">`, w, h)
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		y := yOf(v)
		fmt.Fprintf(&svg, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2c3235"/>`, left, y, left+plotW, y)
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s</text>`, left-4, y+4, template.HTMLEscapeString(formatValue(v, p.Unit)))
	}
	ticks := max(1, min(4, int(plotW/90)))
	for i := 0; i <= ticks; i++ {
		at := t0.Add(time.Duration(float64(i) / float64(ticks) * span * float64(time.Second)))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case ticks:
			anchor = "end"
		}
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" text-anchor="%s" class="tick">%s</text>`, xOf(at), h-2, anchor, at.UTC().Format("15:04:05"))
	}
	for i, l := range lines {
		var pts strings.Builder
		for _, pt := range l.points {
			fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(pt.T), yOf(pt.V))
		}
		color := palette[i%len(palette)]
		if len(l.points) == 1 {
			fmt.Fprintf(&svg, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s"/>`, xOf(l.points[0].T), yOf(l.points[0].V), color)
		}
		fmt.Fprintf(&svg, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, strings.TrimSpace(pts.String()))
		b.Legend = append(b.Legend, legendItem{Color: color, Name: l.name, Value: formatValue(l.last, p.Unit)})
	}
	if len(lines) == 0 {
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" text-anchor="middle" class="nodata">No data</text>`, w/2, h/2)
	}
	svg.WriteString(`</svg>`)
	b.SVG = template.HTML(svg.String()) // built here from numbers and escaped text only
	return nil
}

func legendPx(n int) int { return 16 * min((n+2)/3, 4) }

func drawBars(ctx context.Context, q Querier, p Panel, opts PreviewOptions, b *previewBox) error {
	type bar struct {
		name string
		v    float64
	}
	var bars []bar
	for _, t := range p.Targets {
		res, err := q.Query(ctx, Expand(t.Expr, opts.Window, opts.End.Sub(opts.Start)), opts.End)
		if err != nil {
			return err
		}
		for _, s := range res {
			if v := s.Last(); !math.IsNaN(v) {
				bars = append(bars, bar{legend(t.LegendFormat, s.Metric), v})
			}
		}
	}
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].v > bars[j].v })
	w, h := float64(b.W-16), float64(b.H-34)
	n := len(bars)
	if n > 12 {
		b.Note = fmt.Sprintf("%d more not drawn", n-12)
		bars, n = bars[:12], 12
	}
	hi := 0.0
	for _, x := range bars {
		hi = math.Max(hi, x.v)
	}
	if hi == 0 {
		hi = 1
	}
	const label = 150.0
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f">`, w, h)
	barH := math.Min(22, h/math.Max(float64(n), 1))
	for i, x := range bars {
		y := float64(i) * barH
		bw := (w - label - 60) * x.v / hi
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s</text>`, label-6, y+barH*0.7, template.HTMLEscapeString(x.name))
		fmt.Fprintf(&svg, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, label, y+2, math.Max(bw, 1), barH-4, palette[i%len(palette)])
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" class="tick">%s</text>`, label+bw+6, y+barH*0.7, template.HTMLEscapeString(formatValue(x.v, p.Unit)))
	}
	if n == 0 {
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" text-anchor="middle" class="nodata">No data</text>`, w/2, h/2)
	}
	svg.WriteString(`</svg>`)
	b.SVG = template.HTML(svg.String()) // built here from numbers and escaped text only
	return nil
}

// legend fills a Grafana legend format ({{label}}) from a series' labels.
func legend(format string, labels map[string]string) string {
	if format == "" {
		var parts []string
		for k, v := range labels {
			if k != "__name__" {
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	out := format
	for k, v := range labels {
		out = strings.ReplaceAll(out, "{{"+k+"}}", v)
	}
	return strings.TrimSpace(out)
}

// formatValue writes v in the panel's unit, as Grafana roughly would.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }
	switch unit {
	case "s":
		switch a := math.Abs(v); {
		case a == 0:
			return "0 s"
		case a < 1:
			return num(v*1000) + " ms"
		case a < 120:
			return num(v) + " s"
		default:
			return num(v/60) + " min"
		}
	case "reqps":
		return num(v) + "/s"
	default:
		return num(v)
	}
}

// Screenshot loads the page in headless Chromium and writes a PNG of the
// whole page (width × height pixels) to png.
func Screenshot(ctx context.Context, chromium string, page []byte, width, height int, png string) error {
	dir, err := os.MkdirTemp("", "huduma-preview")
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	defer os.RemoveAll(dir)
	html := filepath.Join(dir, "dashboard.html")
	if err := os.WriteFile(html, page, 0o600); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	abs, err := filepath.Abs(png)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+abs,
		fmt.Sprintf("--window-size=%d,%d", width, height), "file://"+html)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("screenshot: chromium: %w\n%s", err, out)
	}
	if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
		return fmt.Errorf("screenshot: chromium wrote no %s (%v)", abs, err)
	}
	return nil
}

// PageHeight is the pixel height of the preview RenderPreview draws for d.
func PageHeight(d Dashboard) int {
	h := 0
	for _, p := range d.Panels {
		h = max(h, (p.GridPos.Y+p.GridPos.H)*gridRowPx)
	}
	return h + gutterPx + headerPx
}

var previewTmpl = template.Must(template.New("preview").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body { margin: 0; background: #111217; color: #ccccdc; font: 12px/1.3 "DejaVu Sans", Arial, sans-serif; }
header { height: 40px; padding: 8px 12px 0; font-size: 16px; }
header span { font-size: 12px; color: #8e8e8e; margin-left: 12px; }
.page { position: relative; width: {{.Width}}px; height: {{.Height}}px; }
.box { position: absolute; background: #181b1f; border: 1px solid #22252b; border-radius: 2px; overflow: hidden; }
.box h2 { margin: 0; padding: 6px 8px; font-size: 13px; font-weight: 500; white-space: nowrap; }
.box h2 small { color: #8e8e8e; font-weight: 400; margin-left: 6px; }
.row { position: absolute; font-size: 14px; font-weight: 600; padding-top: 6px; }
.chart { padding: 0 8px; }
.legend { padding: 0 8px; display: flex; flex-wrap: wrap; gap: 2px 12px; max-height: 64px; overflow: hidden; }
.legend i { display: inline-block; width: 12px; height: 3px; margin-right: 4px; vertical-align: middle; }
.legend b { font-weight: 400; color: #8e8e8e; margin-left: 4px; }
svg .tick { fill: #8e8e8e; font-size: 10px; }
svg .nodata { fill: #8e8e8e; font-size: 14px; }
</style></head>
<body><header>{{.Title}}<span>{{.Range}}</span></header><div class="page">
{{range .Boxes}}{{if .Row}}<div class="row" style="left:{{.X}}px;top:{{.Y}}px;width:{{.W}}px">{{.Title}}</div>
{{else}}<div class="box" style="left:{{.X}}px;top:{{.Y}}px;width:{{.W}}px;height:{{.H}}px">
<h2>{{.Title}}{{if .Note}}<small>{{.Note}}</small>{{end}}</h2>
<div class="chart">{{.SVG}}</div>
<div class="legend">{{range .Legend}}<span><i style="background:{{.Color}}"></i>{{.Name}}<b>{{.Value}}</b></span>{{end}}</div>
</div>
{{end}}{{end}}</div></body></html>
`))
