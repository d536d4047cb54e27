// Package promapi is a small client of Prometheus's HTTP query API
// (/api/v1/query and /api/v1/query_range): what the tests and the
// dashboard preview need, without the Prometheus module.
package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client queries one Prometheus server.
type Client struct {
	// URL is the server's base address, e.g. http://127.0.0.1:9090.
	URL string
	// HTTP is the client to use (nil: one with a 30 s timeout).
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
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
func (c *Client) Query(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", formatTime(at))
	}
	return c.api(ctx, "/api/v1/query", q)
}

// QueryRange evaluates expr from start to end every step.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Sample, error) {
	q := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return c.api(ctx, "/api/v1/query_range", q)
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

func (c *Client) api(ctx context.Context, path string, q url.Values) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, strings.NewReader(q.Encode()))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http().Do(req)
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
