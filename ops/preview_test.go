package ops

import (
	"context"
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/promapi"
)

// fakeQuerier answers every query with one series per label value it
// was given, and remembers what it was asked.
type fakeQuerier struct {
	asked []string
	fail  string // a query containing this fails
}

func (f *fakeQuerier) Query(_ context.Context, expr string, at time.Time) ([]promapi.Sample, error) {
	return f.QueryRange(context.Background(), expr, at, at, time.Second)
}

func (f *fakeQuerier) QueryRange(_ context.Context, expr string, start, end time.Time, step time.Duration) ([]promapi.Sample, error) {
	f.asked = append(f.asked, expr)
	if f.fail != "" && strings.Contains(expr, f.fail) {
		return nil, errors.New("bad_data: parse error")
	}
	s := promapi.Sample{Metric: map[string]string{"screen": "main<x>", "outcome": "ok", "event": "paid", "provider": "daraja", "kind": "stk_push", "class": "success", "route": "stk", "reason": "ok", "op": "hop"}}
	for t, v := start, 1.0; !t.After(end); t, v = t.Add(step), v+1 {
		s.Points = append(s.Points, promapi.Point{T: t, V: v})
	}
	return []promapi.Sample{s}, nil
}

// TestRenderPreview: every panel is drawn with its data, the dashboard
// variables expanded, label text escaped, and a refused query fails the
// preview naming the panel.
func TestRenderPreview(t *testing.T) {
	d, err := LoadDashboard()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Unix(1_800_000_000, 0)
	q := &fakeQuerier{}
	page, err := RenderPreview(context.Background(), q, d, PreviewOptions{Start: end.Add(-time.Minute), End: end, Step: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := string(page)
	for _, p := range d.Panels {
		if !strings.Contains(out, html.EscapeString(p.Title)) {
			t.Errorf("panel %q not on the page", p.Title)
		}
	}
	if n := strings.Count(out, "<polyline"); n < len(d.Charts())-1 {
		t.Errorf("%d lines drawn for %d charts", n, len(d.Charts()))
	}
	if strings.Contains(out, "main<x>") || !strings.Contains(out, "main&lt;x&gt;") {
		t.Error("a label value reached the page unescaped")
	}
	if strings.Contains(out, "ZgotmplZ") || strings.Contains(out, "<script") {
		t.Error("the page has a rejected template value or a script")
	}
	for _, e := range q.asked {
		if strings.Contains(e, "$") {
			t.Fatalf("query sent with a dashboard variable left in: %s", e)
		}
	}
	if _, err := RenderPreview(context.Background(), &fakeQuerier{fail: "huduma_otp_total"}, d, PreviewOptions{Start: end.Add(-time.Minute), End: end}); err == nil || !strings.Contains(err.Error(), `"One-time codes"`) {
		t.Fatalf("a refused query: %v, want an error naming the panel", err)
	}
}
