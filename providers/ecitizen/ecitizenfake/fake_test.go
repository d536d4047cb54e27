package ecitizenfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

func start(t *testing.T, opts ecitizenfake.Options) *ecitizenfake.Fake {
	t.Helper()
	opts.ClientID, opts.APIKey, opts.Secret = "CLIENT1", "KEY1", "SECRET1"
	f, err := ecitizenfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// vectorForm is the published checkout vector's fields, signed as
// published, with what the fake also needs.
func vectorForm() url.Values {
	return url.Values{"apiClientID": {"CLIENT1"}, "amountExpected": {"500.00"}, "serviceID": {"SERVICE1"}, "clientIDNumber": {"12345678"},
		"currency": {"KES"}, "billRefNumber": {"INV-0001"}, "billDesc": {"School fees"}, "clientName": {"Jane Doe"},
		"clientMSISDN": {"254712345678"}, "notificationURL": {"http://127.0.0.1:1/notify"}, "format": {"json"},
		"secureHash": {"sS6xvDc4D4br9BVgY2BrbszISaapr+iW3GXePGd9ECw="}}
}

// The fake's own signing (written apart from providers/ecitizen) takes
// the published vector and refuses anything else, echoing the request
// the way the live platform's refusals do.
func TestCheckoutByHand(t *testing.T) {
	f := start(t, ecitizenfake.Options{})
	cases := []struct {
		label  string
		change func(url.Values)
		status int
		body   string
	}{
		{"published vector", func(url.Values) {}, 200, `"invoice_number"`},
		{"hash of another amount", func(v url.Values) { v.Set("amountExpected", "600.00") }, 403, "sS6xvDc4D4br9BVgY2BrbszISaapr+iW3GXePGd9ECw="},
		{"no hash", func(v url.Values) { v.Del("secureHash") }, 422, "invalid params on parsing"},
		{"amount without decimals", func(v url.Values) { v.Set("amountExpected", "500") }, 403, "invalid secure hash"},
		{"iframe format answers a page", func(v url.Values) { v.Set("format", "iframe") }, 200, "<html>"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			v := vectorForm()
			tc.change(v)
			resp, err := http.PostForm(f.URL(), v)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	bills := f.Bills()
	if len(bills) != 1 || bills[0].Ref != "INV-0001" || bills[0].Checkouts != 2 || bills[0].Amount != 500 {
		t.Fatalf("bills %+v", bills)
	}
	resp, err := http.Get(bills[0].Link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), bills[0].Number) {
		t.Fatalf("invoice page %d %s", resp.StatusCode, page)
	}
}

// The checkout also takes a JSON body, sendSTK a JSON boolean.
func TestCheckoutJSON(t *testing.T) {
	f := start(t, ecitizenfake.Options{})
	obj := map[string]any{"sendSTK": true}
	for k, v := range vectorForm() {
		obj[k] = v[0]
	}
	raw, _ := json.Marshal(obj)
	resp, err := http.Post(f.URL(), "application/json", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Number string `json:"invoice_number"`
		Link   string `json:"invoice_link"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || out.Number == "" || out.Link == "" {
		t.Fatalf("%d %+v", resp.StatusCode, out)
	}
	if p := f.Pushes(); len(p) != 1 || !p[0].Sent || p[0].BillNumber != out.Number || p[0].Phone != "254712345678" {
		t.Fatalf("pushes %+v", p)
	}
}

// Close stops a notification's retries instead of waiting them out.
func TestCloseStopsRetries(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		http.Error(w, "down", 503)
	}))
	defer srv.Close()
	opts := ecitizenfake.Options{ClientID: "CLIENT1", APIKey: "KEY1", Secret: "SECRET1", Retries: 5, RetryDelay: time.Second}
	f, err := ecitizenfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan ecitizenfake.Delivery, 1)
	go func() { done <- f.NotifyUnissued(srv.URL, "1234567890", 100) }()
	deadline := time.Now().Add(5 * time.Second)
	for posts.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f.Close()
	select {
	case d := <-done:
		// The full schedule is 1+2+3+4+5 s; Close cut it short.
		if d.Delivered || len(d.Statuses) == 0 || len(d.Statuses) > 2 {
			t.Fatalf("delivery %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the retries")
	}
}
