package daraja_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// TestPullWire: the client pages the fake's nested list by row offset,
// keeps only customer payments, and widens and clamps its window.
func TestPullWire(t *testing.T) {
	f, c := setup(t, darajafake.Options{PageSize: 3}, nil)
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 7; i++ {
		tx := darajafake.Transaction{ID: fmt.Sprintf("TX%08d", i), At: now.Add(time.Duration(i-10) * time.Minute), MSISDN: "254708374149",
			Account: "1234567890", Amount: int64(100 * (i + 1))}
		if i == 4 {
			tx.Type, tx.MSISDN = "reversal", "2547****149"
		}
		f.AddTransaction(tx)
	}
	f.AddTransaction(darajafake.Transaction{ID: "OLD", At: now.Add(-30 * time.Hour), Amount: 5}) // outside the window
	var ids []string
	var rows int
	for offset := 0; ; {
		page, err := c.PullTransactions(ctx, now.Add(-time.Hour), now, offset)
		if err != nil {
			t.Fatal(err)
		}
		if page.Rows == 0 {
			break
		}
		for _, p := range page.Payments {
			ids = append(ids, fmt.Sprintf("%s:%d:%s:%s", p.TransID, p.Amount, p.Account, p.MSISDN))
			if p.At.IsZero() || p.At.After(now) {
				t.Fatalf("date %v", p.At)
			}
		}
		if page.Rows != 3 && page.Rows != 1 || (page.Other["reversal"] != 0) != (offset == 3) {
			t.Fatalf("page at %d: %+v", offset, page)
		}
		rows += page.Rows
		offset += page.Rows
	}
	if rows != 7 || len(ids) != 6 || ids[0] != "TX00000000:100:1234567890:254708374149" || strings.Contains(strings.Join(ids, ","), "TX00000004") {
		t.Fatalf("pulled %d rows: %v", rows, ids)
	}
	if f.Pulls() != 4 {
		t.Fatalf("%d pulls, want 4 (three pages and the empty one)", f.Pulls())
	}
	// 47 h asked, widened by the zone slack: clamped to Daraja's 48 h.
	if _, err := c.PullTransactions(ctx, now.Add(-47*time.Hour), now, 0); err != nil {
		t.Fatalf("long window: %v", err)
	}
	if status, err := c.PullRegister(ctx, "+254708374149", "https://example.org/payments/pull/notice"); err != nil || status != "1000" {
		t.Fatalf("register: %s %v", status, err)
	}
	if status, err := c.PullRegister(ctx, "+254708374149", "https://example.org/payments/pull/notice"); err != nil || status != "1001" {
		t.Fatalf("register again: %s %v", status, err)
	}
}

// TestPullAnswers: what Daraja may answer besides the fake's shape.
func TestPullAnswers(t *testing.T) {
	var answer string
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/oauth") {
			w.Write([]byte(`{"access_token":"t","expires_in":"3599"}`))
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := daraja.New(daraja.Config{BaseURL: srv.URL, ConsumerKey: "k", ConsumerSecret: "s", ShortCode: "600000", Backoff: time.Millisecond,
		MaxRetries: 1}, srv.Client(), slog.New(slog.DiscardHandler))
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC) // 10:00 in Nairobi
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"flat list, string code, separators, masked number", `{"ResponseCode":"1000","Response":[{"transactionId":"A1","trxDate":"2026-11-22T06:30:00.000Z",
			"msisdn":"2547****149","transactiontype":"c2b-pay-bill-debit","billreference":" 1234567890 ","amount":"1,250.00"}]}`, "A1:1250:1234567890:2547****149"},
		{"numeric code, nested", `{"ResponseCode":1000,"Response":[[{"transactionId":"A2","trxDate":"2026-11-22T06:30:00Z","msisdn":254708374149,
			"transactiontype":"c2b-buy-goods-debit","billreference":"x","amount":"168.00"}]]}`, "A2:168:x:254708374149"},
		{"nothing", `{"ResponseCode":"1001","ResponseMessage":"No records","Response":[[]]}`, ""},
		{"failure", `{"ResponseCode":"500","ResponseMessage":"failed"}`, "error"},
		// A row that cannot be a payment is left out and reported, never
		// rounded; the page's other rows still count.
		{"a fraction is never rounded", `{"ResponseCode":"1000","Response":[[{"transactionId":"A3","transactiontype":"c2b-pay-bill-debit","amount":"10.50"}]]}`, "refused 1"},
		{"zero, minus zero, int64's largest, above M-Pesa's ceiling, a bad id; one good row", `{"ResponseCode":"1000","Response":[[
			{"transactionId":"Z1","transactiontype":"c2b-pay-bill-debit","amount":"0"},
			{"transactionId":"Z2","transactiontype":"c2b-pay-bill-debit","amount":"-0.00"},
			{"transactionId":"Z3","transactiontype":"c2b-pay-bill-debit","amount":"9223372036854775807"},
			{"transactionId":"Z4","transactiontype":"c2b-pay-bill-debit","amount":"250,001.00"},
			{"transactionId":"Z5-<x>","transactiontype":"c2b-pay-bill-debit","amount":"10"},
			{"transactionId":"rktqdm7w6s","transactiontype":"c2b-pay-bill-debit","billreference":"12\u0000\u001b[2J","msisdn":"2547****149","amount":"250,000.00"},
			{"transactionId":"R1","transactiontype":"reversal","amount":"-9223372036854775807"}]]}`, "RKTQDM7W6S:250000:12\ufffd\ufffd[2J:2547****149 refused 5"},
	} {
		answer = tc.answer
		page, err := c.PullTransactions(context.Background(), at.Add(-2*time.Hour), at, 5)
		var out []string
		for _, p := range page.Payments {
			out = append(out, fmt.Sprintf("%s:%d:%s:%s", p.TransID, p.Amount, p.Account, p.MSISDN))
		}
		if len(page.Refused) > 0 {
			out = append(out, fmt.Sprintf("refused %d", len(page.Refused)))
		}
		if got := strings.Join(out, " "); (err != nil) != (tc.want == "error") || err == nil && got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
	if got["StartDate"] != "2026-11-22 05:00:00" || got["EndDate"] != "2026-11-22 10:00:01" || got["OffSetValue"] != "5" || got["ShortCode"] != "600000" {
		t.Fatalf("request %v (two hours back, three more for the zone, the end rounded up, in Nairobi time)", got)
	}
}
