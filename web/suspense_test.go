package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// financeAgency is a checkAgency that is also a Finance, recording what
// the finance routes hand it.
type financeAgency struct {
	*checkAgency
	filter          huduma.SuspenseFilter
	actor, key, got string
	day             time.Time
}

func (f *financeAgency) ListSuspense(_ context.Context, fl huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error) {
	f.filter = fl
	return []huduma.ReceivedPayment{{TransID: "T1", Amount: 700, Suspense: 700, State: huduma.PaymentSuspense, Phone: "+254712345678", Payer: "2547123***678"}}, nil
}

func (f *financeAgency) Payment(_ context.Context, trans string) (huduma.PaymentRecord, error) {
	if trans != "T1" {
		return huduma.PaymentRecord{}, huduma.ErrNotFound
	}
	return huduma.PaymentRecord{ReceivedPayment: huduma.ReceivedPayment{TransID: "T1"}, Refunds: []huduma.Refund{}}, nil
}

func (f *financeAgency) ApplySuspense(_ context.Context, trans string, n huduma.InvoiceNumber, actor string) (huduma.Settlement, error) {
	f.actor, f.got = actor, trans+"->"+string(n)
	return huduma.Settlement{Outcome: huduma.OutcomePartial, Invoice: n, Applied: 300}, nil
}

func (f *financeAgency) RequestRefund(_ context.Context, trans, key, actor, remarks string) (huduma.Refund, error) {
	f.actor, f.key, f.got = actor, key, trans+":"+remarks
	return huduma.Refund{ID: 1, TransID: trans, Amount: 700, Status: huduma.RefundQueued}, nil
}

func (f *financeAgency) SettlementReport(_ context.Context, day time.Time, agency string) ([]huduma.SettlementRow, error) {
	f.day = day
	return []huduma.SettlementRow{{Date: day.In(huduma.EAT).Format("2006-01-02"), Agency: "DIS", InvoicesPaid: 2, Fees: 9100, ConvenienceFees: 100, Total: 9200}}, nil
}

// TestFinanceRoutes: the finance routes read their parameters strictly,
// pass the caller's key scope as the actor and in the refund key, never
// show a full phone number, and serve the report as JSON and CSV.
func TestFinanceRoutes(t *testing.T) {
	s := New(Config{}, Deps{Hops: &fakeHops{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f := &financeAgency{checkAgency: &checkAgency{t: t}}
	s.MountAPI(f, []APIKey{{Key: "finance-key-finance-key"}})
	call := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer finance-key-finance-key")
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := call("GET", "/api/v1/suspense?older_than=24h&reason=overpaid&agency=DIS&limit=5", "")
	if code != 200 || f.filter != (huduma.SuspenseFilter{OlderThan: 24 * time.Hour, Reason: huduma.ReasonOverpaid, Agency: "DIS", Limit: 5}) ||
		!strings.Contains(body, `"held":700`) || strings.Contains(body, "345678") {
		t.Fatalf("list: %d %s %+v", code, body, f.filter)
	}
	for _, q := range []string{"older_than=soon", "older_than=-1h", "reason=lost", "limit=0", "limit=5000"} {
		if code, _ := call("GET", "/api/v1/suspense?"+q, ""); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	if code, _ := call("GET", "/api/v1/payments/NOPE", ""); code != 404 {
		t.Fatalf("unknown payment: %d", code)
	}
	if code, body := call("POST", "/api/v1/payments/T1/apply", `{"invoice":"1234567890"}`); code != 400 {
		t.Fatalf("bad check digit: %d %s", code, body)
	}
	n := "123456789" + string(huduma.DammDigit("123456789"))
	if code, body := call("POST", "/api/v1/payments/T1/apply", `{"invoice":"`+n+`"}`); code != 200 || f.got != "T1->"+n || !strings.HasPrefix(f.actor, "api:") ||
		!strings.Contains(body, `"outcome":"partial"`) {
		t.Fatalf("apply: %d %s %q", code, body, f.actor)
	}
	if code, _ := call("POST", "/api/v1/payments/T1/apply", `{"invoice":"`+n+`","extra":1}`); code != 400 {
		t.Fatal("unknown field accepted")
	}
	if code, _ := call("POST", "/api/v1/payments/T1/refund", `{"remarks":"wrong account"}`, "Idempotency-Key", "r-1"); code != 202 ||
		f.got != "T1:wrong account" || f.key != f.actor+":refund:r-1" {
		t.Fatalf("refund: %d %q %q", code, f.got, f.key)
	}
	if code, body := call("GET", "/api/v1/reports/settlement?date=2026-11-21", ""); code != 200 || !strings.Contains(body, `"invoices_paid":2`) ||
		!f.day.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, huduma.EAT)) {
		t.Fatalf("report json: %d %s %v", code, body, f.day)
	}
	code, body = call("GET", "/api/v1/reports/settlement?date=2026-11-21&format=csv", "")
	if code != 200 || !strings.HasPrefix(body, "date,agency,invoices_paid,fees,convenience_fees,total,applied,") ||
		!strings.Contains(body, "2026-11-21,DIS,2,9100,100,9200,") {
		t.Fatalf("report csv: %d %s", code, body)
	}
	for _, q := range []string{"date=21-11-2026", "format=xml"} {
		if code, _ := call("GET", "/api/v1/reports/settlement?"+q, ""); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}
