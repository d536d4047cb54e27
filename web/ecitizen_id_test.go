package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// billingAgency is checkAgency with the real catalog and payments
// service behind ordering.
type billingAgency struct {
	*checkAgency
	l   ledgertest.Ledger
	pay *payments.Service
}

func (a billingAgency) ServiceByCode(ctx context.Context, code int) (huduma.Service, error) {
	return a.l.ServiceByCode(ctx, code)
}

func (a billingAgency) CreateInvoice(ctx context.Context, r huduma.InvoiceRequest) (huduma.Invoice, bool, error) {
	return a.pay.CreateInvoice(ctx, r)
}

// TestAPIRefusesServiceWithoutECitizenID: where services are billed
// through e-Citizen (NeedServiceID), an agency system cannot order a
// service the catalog has no e-Citizen service ID for: 400 invalid, saying
// why, and no invoice; one with an ID, or any with the flag off, is made.
func TestAPIRefusesServiceWithoutECitizenID(t *testing.T) {
	ctx := context.Background()
	const phone = huduma.MSISDN("+254712345678")
	for _, need := range []bool{true, false} {
		l := ledgertest.New(sqlitetest.OpenWithSample(t))
		pay := payments.New(l, l, nil, payments.Config{NeedServiceID: need}, slog.New(slog.DiscardHandler))
		s := New(Config{}, Deps{Hops: &fakeHops{}}, slog.New(slog.DiscardHandler))
		s.MountAPI(billingAgency{checkAgency: &checkAgency{t: t}, l: l, pay: pay}, []APIKey{{Key: "billing-key-billing-key"}})
		order := func(code, fields string) (int, map[string]any) {
			req := httptest.NewRequest("POST", "/api/v1/invoices", strings.NewReader(`{"service_code":`+code+`,"phone":"0712345678","fields":`+fields+`}`))
			req.Header.Set("Authorization", "Bearer billing-key-billing-key")
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var out map[string]any
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s: %q", code, raw)
			}
			return resp.StatusCode, out
		}
		status, body := order("9001", `{"id_number":"12345678"}`) // KRA PIN registration: no ID in the sample
		if need {
			e, _ := body["error"].(map[string]any)
			if status != 400 || e["code"] != huduma.EInvalid || !strings.Contains(e["message"].(string), "no e-Citizen service ID") {
				t.Fatalf("flag on, no ID: %d %v", status, body)
			}
			if invs, _ := l.InvoicesByPhone(ctx, phone, 0, 10); len(invs) != 0 {
				t.Fatalf("flag on, no ID: %d invoices made", len(invs))
			}
			if msgs, _ := l.Messages(ctx, phone, 10); len(msgs) != 0 {
				t.Fatalf("flag on, no ID: %q texted", msgs[0].Body)
			}
		} else if status != 201 {
			t.Fatalf("flag off, no ID: %d %v", status, body)
		}
		if status, body := order("4001", `{"birth_entry":"12345"}`); status != 201 {
			t.Fatalf("need %v, a service with an ID: %d %v", need, status, body)
		}
	}
}
