package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
)

// checkAgency is an Agency that checks what the API hands it: phones
// already normalised, valid UTF-8, nothing empty that is required.
type checkAgency struct {
	t     *testing.T
	calls int
}

func (a *checkAgency) phone(p huduma.MSISDN) {
	a.calls++
	if _, err := huduma.ParseMSISDN(string(p)); err != nil || !strings.HasPrefix(string(p), "+254") {
		a.t.Fatalf("the API passed on phone %q", p)
	}
}
func (a *checkAgency) SearchServices(context.Context, string, int) ([]huduma.Service, error) {
	return nil, nil
}
func (a *checkAgency) ServiceByCode(_ context.Context, code int) (huduma.Service, error) {
	if code <= 0 {
		return huduma.Service{}, huduma.ErrNotFound
	}
	return huduma.Service{Code: code, NameEN: "Passport"}, nil
}
func (a *checkAgency) CreateInvoice(_ context.Context, r huduma.InvoiceRequest) (huduma.Invoice, bool, error) {
	a.phone(r.Phone)
	a.phone(r.Payer)
	for k, v := range r.Fields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			a.t.Fatalf("invalid UTF-8 field %q=%q", k, v)
		}
	}
	return huduma.Invoice{Number: "1234567894"}, false, nil
}
func (a *checkAgency) Invoice(context.Context, huduma.InvoiceNumber) (huduma.Invoice, error) {
	return huduma.Invoice{Phone: "+254712345678"}, nil
}
func (a *checkAgency) RequestPush(_ context.Context, _ huduma.InvoiceNumber, p huduma.MSISDN, _ string) error {
	a.phone(p)
	return nil
}
func (a *checkAgency) SendMessage(_ context.Context, to huduma.MSISDN, text string) (int, error) {
	a.phone(to)
	return 1, nil
}
func (a *checkAgency) SendOTP(_ context.Context, _ string, p huduma.MSISDN, _ string) error {
	a.phone(p)
	return nil
}
func (a *checkAgency) VerifyOTP(_ context.Context, _ string, p huduma.MSISDN, _, _ string) (bool, error) {
	a.phone(p)
	return false, nil
}
func (a *checkAgency) CreateApplication(_ context.Context, app huduma.Application) (huduma.Application, error) {
	a.phone(app.Phone)
	return app, nil
}
func (a *checkAgency) Application(context.Context, string) (huduma.Application, error) {
	return huduma.Application{}, nil
}
func (a *checkAgency) UpdateApplication(_ context.Context, _ string, st huduma.ApplicationStatus, note string) (huduma.Application, error) {
	a.calls++
	if _, err := huduma.ParseApplicationStatus(string(st)); err != nil || len(note) > 200 {
		a.t.Fatalf("the API passed on status %q note %d bytes", st, len(note))
	}
	return huduma.Application{}, nil
}

// FuzzAPIBodies posts arbitrary bodies to every JSON route: nothing is a
// 500, every failure is the JSON error shape, and a refused body never
// reaches the domain.
func FuzzAPIBodies(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/invoices"}, {"POST", "/api/v1/invoices/1234567894/push"}, {"POST", "/api/v1/messages"},
		{"POST", "/api/v1/otp"}, {"POST", "/api/v1/otp/verify"}, {"POST", "/api/v1/applications"}, {"PUT", "/api/v1/applications/1234567894"},
	}
	f.Add(uint8(0), `{"service_code":1001,"phone":"0712345678","fields":{"id_number":"12345678"},"push":true}`)
	f.Add(uint8(1), `{"phone":"+254712345678"}`)
	f.Add(uint8(2), `{"to":"0712345678","text":"Hello"}`)
	f.Add(uint8(3), `{"phone":"0712345678","purpose":"login"}`)
	f.Add(uint8(4), `{"phone":"0712345678","purpose":"login","code":"123456"}`)
	f.Add(uint8(5), `{"service_code":1001,"phone":"0712345678","reference":"PP-1"}`)
	f.Add(uint8(6), `{"status":"approved","note":"ok"}`)
	f.Add(uint8(2), `{"to":"0712345678","text":"x"} {"to":"1"}`)
	f.Add(uint8(0), `{"service_code":1001,"phone":"0712345678","amount":1}`)
	f.Add(uint8(3), `{"phone":"\ud800","purpose":"login"}`)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := routes[int(route)%len(routes)]
		ag := &checkAgency{t: t}
		s := New(Config{}, Deps{Hops: &fakeHops{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		s.MountAPI(ag, []APIKey{{Key: "fuzz-key-fuzz-key-fuzz"}})
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer fuzz-key-fuzz-key-fuzz")
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			var e apiError
			if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error body %q", raw)
			}
			if ag.calls > 0 {
				t.Fatalf("a refused body (%d) reached the domain: %q", resp.StatusCode, body)
			}
		}
	})
}
