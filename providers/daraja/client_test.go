package daraja_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

const passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

func setup(t *testing.T, opts darajafake.Options, now func() time.Time) (*darajafake.Fake, *daraja.Client) {
	t.Helper()
	return setupLogged(t, opts, now, slog.New(slog.DiscardHandler))
}

func setupLogged(t *testing.T, opts darajafake.Options, now func() time.Time, log *slog.Logger) (*darajafake.Fake, *daraja.Client) {
	t.Helper()
	opts.ConsumerKey, opts.ConsumerSecret, opts.Passkey = "key", "secret", passkey
	f, err := darajafake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := daraja.New(daraja.Config{BaseURL: f.URL(), ConsumerKey: "key", ConsumerSecret: "secret", Passkey: passkey,
		ShortCode: "174379", CallbackURL: "http://127.0.0.1:1/payments/stk/callback", Timeout: 2 * time.Second,
		Backoff: 10 * time.Millisecond, Now: now}, &http.Client{}, log)
	return f, c
}

var push = huduma.STKPush{Phone: "+254708374100", Amount: 4600, Reference: "1234567890", Description: "Passport 34 pages"}

func TestPushWire(t *testing.T) {
	fixed := time.Date(2026, 11, 22, 7, 30, 5, 0, time.UTC) // 10:30:05 in Nairobi
	f, c := setup(t, darajafake.Options{}, func() time.Time { return fixed })
	res, err := c.StkPush(context.Background(), push)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.CheckoutRequestID, "ws_CO_") || res.MerchantRequestID == "" {
		t.Fatalf("result %+v", res)
	}
	b := f.Pushes()[0].Body
	want := map[string]any{"BusinessShortCode": "174379", "Timestamp": "20261122103005", "TransactionType": "CustomerPayBillOnline",
		"Amount": float64(4600), "PartyA": "254708374100", "PartyB": "174379", "PhoneNumber": "254708374100",
		"AccountReference": "1234567890", "TransactionDesc": "Passport 34 p", "CallBackURL": "http://127.0.0.1:1/payments/stk/callback"}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("%s = %v, want %v", k, b[k], v)
		}
	}
	pw, _ := base64.StdEncoding.DecodeString(b["Password"].(string))
	if string(pw) != "174379"+passkey+"20261122103005" {
		t.Errorf("password decodes to %q", pw)
	}
}

func TestTokenCachedAndRefreshedOnce(t *testing.T) {
	f, c := setup(t, darajafake.Options{ExpiresInNumber: true}, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.StkPush(ctx, push); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens for 8 concurrent pushes, want 1", n)
	}
	f.InvalidateToken() // as if another process took a new token
	if _, err := c.StkPush(ctx, push); err != nil {
		t.Fatalf("push after token invalidation: %v", err)
	}
	if n := f.TokensIssued(); n != 2 {
		t.Fatalf("tokens after invalidation = %d, want 2", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f, c := setup(t, darajafake.Options{}, clock)
	c.StkPush(context.Background(), push)
	mu.Lock()
	now = now.Add(59 * time.Minute) // past expiry minus the early margin
	mu.Unlock()
	c.StkPush(context.Background(), push)
	if n := f.TokensIssued(); n != 2 {
		t.Fatalf("token not refreshed before expiry: %d issued", n)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		label  string
		fault  func(f *darajafake.Fake)
		req    huduma.STKPush
		want   error
		pushes int
	}{
		{"spike arrest then success", func(f *darajafake.Fake) {
			f.Fail(2, 500, `{"errorCode":"500.003.02","errorMessage":"System is busy. Spike Arrest Violation"}`)
		}, push, nil, 1},
		{"5xx exhausted", func(f *darajafake.Fake) { f.Fail(10, 503, `upstream down`) }, push, daraja.ErrUnavailable, 0},
		{"subscriber locked", func(f *darajafake.Fake) {
			f.Fail(1, 500, `{"errorCode":"500.001.1001","errorMessage":"Unable to lock subscriber, a transaction is already in process for the current subscriber"}`)
		}, push, daraja.ErrInProgress, 0},
		{"bad request not retried", func(f *darajafake.Fake) {
			f.Fail(1, 400, `{"errorCode":"400.002.02","errorMessage":"Bad Request - Invalid BusinessShortCode"}`)
		}, push, daraja.ErrBadRequest, 0},
		{"reference too long", nil, huduma.STKPush{Phone: push.Phone, Amount: 1, Reference: "1234567890123"}, daraja.ErrBadRequest, 0},
		{"zero amount", nil, huduma.STKPush{Phone: push.Phone, Amount: 0, Reference: "1"}, daraja.ErrBadRequest, 0},
		{"push error 1025", nil, huduma.STKPush{Phone: "+254708374107", Amount: 10, Reference: "1234567890"}, daraja.ErrBadRequest, 1},
		{"being processed on a push is a transaction in process", func(f *darajafake.Fake) {
			f.Fail(1, 500, beingProcessed)
		}, push, daraja.ErrInProgress, 0},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			f, c := setup(t, darajafake.Options{}, nil)
			if tc.fault != nil {
				tc.fault(f)
			}
			_, err := c.StkPush(context.Background(), tc.req)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(f.Pushes()) != tc.pushes {
				t.Fatalf("fake saw %d pushes, want %d", len(f.Pushes()), tc.pushes)
			}
		})
	}
}

// beingProcessed is Daraja's STK query answer while the customer has not
// finished: an error body, not a 200.
const beingProcessed = `{"requestId":"ws_CO_1","errorCode":"500.001.1001","errorMessage":"The transaction is being processed"}`

// TestPendingIsAnAnswer: "being processed" is pending after exactly one
// HTTP request, with no warning and a nil error (so no breaker counts it),
// whether the prompt is undecided for good (suffix 08) or Daraja says so
// once; a real 5xx is still retried.
func TestPendingIsAnAnswer(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer // the client logs from the calling goroutine
	f, c := setupLogged(t, darajafake.Options{}, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	res, err := c.StkPush(ctx, huduma.STKPush{Phone: "+254708374108", Amount: 10, Reference: "1234567890"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.StkQuery(ctx, res.CheckoutRequestID)
	if err != nil || !q.Pending || q.CheckoutRequestID != res.CheckoutRequestID {
		t.Fatalf("undecided prompt: %+v %v, want pending and no error", q, err)
	}
	if n := f.Queries(); n != 1 {
		t.Fatalf("%d HTTP calls for one pending query, want 1", n)
	}
	for _, tc := range []struct{ label, status, body string }{
		{"error body", "500", beingProcessed},
		{"200 still under processing", "200", `{"ResponseCode":"0","ResultCode":"4999","ResultDesc":"The transaction is still under processing"}`},
	} {
		before := f.Queries()
		status, _ := strconv.Atoi(tc.status)
		f.Fail(1, status, tc.body)
		q, err := c.StkQuery(ctx, res.CheckoutRequestID)
		if err != nil || !q.Pending {
			t.Fatalf("%s: %+v %v, want pending", tc.label, q, err)
		}
		if n := f.Queries() - before; n != 1 {
			t.Fatalf("%s: %d HTTP calls, want 1", tc.label, n)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			t.Fatalf("a pending answer was logged as a failure: %s", line)
		}
	}
	// The contrast: an outage (5xx without that answer) is retried, and
	// warned about, before the answer comes.
	before := f.Queries()
	f.Fail(2, 503, `upstream down`)
	if q, err := c.StkQuery(ctx, res.CheckoutRequestID); err != nil || !q.Pending {
		t.Fatalf("after two 503s: %+v %v", q, err)
	}
	if n := f.Queries() - before; n != 3 {
		t.Fatalf("%d HTTP calls through two 503s, want 3", n)
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatal("an outage retry left no warning")
	}
}

func TestTimeout(t *testing.T) {
	f, c := setup(t, darajafake.Options{}, nil)
	c.StkPush(context.Background(), push) // get a token first
	f.Hang(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.StkPush(ctx, push)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("hung call: err=%v after %s", err, time.Since(start))
	}
}

func TestQuery(t *testing.T) {
	f, c := setup(t, darajafake.Options{CallbackDelay: 300 * time.Millisecond}, nil)
	ctx := context.Background()
	res, err := c.StkPush(ctx, huduma.STKPush{Phone: "+254708374101", Amount: 10, Reference: "1234567890"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.StkQuery(ctx, res.CheckoutRequestID)
	if err != nil || !q.Pending {
		t.Fatalf("early query = %+v %v, want pending", q, err)
	}
	time.Sleep(400 * time.Millisecond)
	q, err = c.StkQuery(ctx, res.CheckoutRequestID)
	if err != nil || q.Pending || q.ResultCode != "1032" {
		t.Fatalf("late query = %+v %v, want 1032", q, err)
	}
	_ = f
}

func TestDecodeSTKCallback(t *testing.T) {
	ok := `{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,
	"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},
	{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"Balance"},{"Name":"TransactionDate","Value":20191219102115},
	{"Name":"PhoneNumber","Value":254708374149}]}}}}`
	cases := []struct {
		label, body string
		want        huduma.STKResult
		err         string
	}{
		{"success", ok, huduma.STKResult{CheckoutRequestID: "ws_CO_191220191020363925", ResultCode: "0", ResultDesc: "The service request is processed successfully.",
			Receipt: "NLJ7RT61SV", Amount: 1, Phone: "254708374149", PaidAt: time.Date(2019, 12, 19, 7, 21, 15, 0, time.UTC)}, ""},
		{"cancelled", `{"Body":{"stkCallback":{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}`,
			huduma.STKResult{CheckoutRequestID: "ws_CO_1", ResultCode: "1032", ResultDesc: "Request cancelled by user"}, ""},
		{"code as string", `{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":"1037","ResultDesc":"x"}}}`,
			huduma.STKResult{CheckoutRequestID: "ws_CO_1", ResultCode: "1037", ResultDesc: "x"}, ""},
		{"fractional amount", strings.Replace(ok, "1.00", "10.50", 1), huduma.STKResult{}, "whole shillings"},
		{"garbage", `{{{`, huduma.STKResult{}, "not JSON"},
		{"no checkout id", `{"Body":{"stkCallback":{"ResultCode":0}}}`, huduma.STKResult{}, "CheckoutRequestID"},
		{"no body", `{}`, huduma.STKResult{}, "CheckoutRequestID"},
		{"success without receipt", `{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":0}}}`, huduma.STKResult{}, "lacks Amount"},
		{"huge", `{"Body":"` + strings.Repeat("x", 20000) + `"}`, huduma.STKResult{}, "larger than"},
		{"receipt in lower case", strings.Replace(ok, "NLJ7RT61SV", "nlj7rt61sv", 1), huduma.STKResult{CheckoutRequestID: "ws_CO_191220191020363925", ResultCode: "0",
			ResultDesc: "The service request is processed successfully.", Receipt: "NLJ7RT61SV", Amount: 1, Phone: "254708374149",
			PaidAt: time.Date(2019, 12, 19, 7, 21, 15, 0, time.UTC)}, ""},
		{"zero amount", strings.Replace(ok, "1.00", "0", 1), huduma.STKResult{}, "not an M-Pesa payment"},
		{"int64's largest", strings.Replace(ok, "1.00", "9223372036854775807", 1), huduma.STKResult{}, "not an M-Pesa payment"},
		{"above the ceiling", strings.Replace(ok, "1.00", "250001", 1), huduma.STKResult{}, "not an M-Pesa payment"},
	}
	for _, tc := range cases {
		got, err := daraja.DecodeSTKCallback([]byte(tc.body))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.label, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v %v\nwant %+v", tc.label, got, err, tc.want)
		}
	}
}

func TestC2B(t *testing.T) {
	body := `{"TransactionType":"Pay Bill","TransID":"RKTQDM7W6S","TransTime":"20191122063845","TransAmount":"10","BusinessShortCode":"600638",
	"BillRefNumber":"1234567890","InvoiceNumber":"","OrgAccountBalance":"","ThirdPartyTransID":"","MSISDN":"25470****149","FirstName":"John","MiddleName":"","LastName":"Doe"}`
	p, err := daraja.DecodeC2B([]byte(body))
	if err != nil || p.TransID != "RKTQDM7W6S" || p.Amount != 10 || p.BillRefNumber != "1234567890" || p.MSISDN != "25470****149" {
		t.Fatalf("c2b = %+v %v", p, err)
	}
	for _, bad := range []string{`{}`, `{"TransID":"X","TransAmount":"10.5"}`, `nope`, `{"TransID":"X","TransAmount":"-3"}`,
		// Zero in every spelling and amounts no M-Pesa payment carries:
		// refused here, so the ledger never refuses a confirmation that
		// Daraja would then retry without end.
		`{"TransID":"X","TransAmount":"0"}`, `{"TransID":"X","TransAmount":"00"}`, `{"TransID":"X","TransAmount":"-0"}`, `{"TransID":"X","TransAmount":0}`,
		`{"TransID":"X","TransAmount":"9223372036854775807"}`, `{"TransID":"X","TransAmount":"250001.00"}`,
		`{"TransID":"RKT-QDM7W6S","TransAmount":"10"}`, `{"TransID":"RKT\u0000QDM","TransAmount":"10"}`} {
		if c, err := daraja.DecodeC2B([]byte(bad)); err == nil {
			t.Errorf("accepted %s: %+v", bad, c)
		}
	}
	// The id in any case is the one id; NUL and terminal escapes in what
	// the payer typed are replaced visibly.
	p, err = daraja.DecodeC2B([]byte(`{"TransID":" rktqdm7w6s ","TransAmount":"250000.00","BillRefNumber":"12345\u000067890","MSISDN":"2547 ***** 126",
		"FirstName":"\u001b[2JJOHN"}`))
	if err != nil || p.TransID != "RKTQDM7W6S" || p.Amount != huduma.MaxPayment || p.BillRefNumber != "12345\ufffd67890" || p.FirstName != "\ufffd[2JJOHN" {
		t.Fatalf("normalised c2b = %+v %v", p, err)
	}
	if string(daraja.C2BReject(daraja.C2BInvalidAccount)) != `{"ResultCode":"C2B00012","ResultDesc":"Rejected"}` {
		t.Error("reject body")
	}
}
